import { idTimeBound, newId } from './ids.js';
import type { AuditEvent, AuditType } from './model.js';
import type { AuditStore, Clock } from './ports.js';

/** Where a request came from; every field optional, since the CLI has none of them. */
export interface RequestContext {
  readonly ip?: string | null;
  readonly userAgent?: string | null;
  readonly requestId?: string | null;
}

export interface AuditEntry {
  readonly actorId?: string | null;
  readonly subjectId?: string | null;
  readonly details?: AuditEvent['details'];
}

/**
 * The audit trail of security events (LOG-01). Writing it must never turn a working login into a
 * failed one, so a failed write is reported to `onError` and swallowed.
 */
export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
    private readonly onError: (error: unknown, event: AuditEvent) => void = () => {},
    /** Told of every event, stored or not (the metrics count logins and reuse from here). */
    private readonly onRecord: (event: AuditEvent) => void = () => {},
  ) {}

  async record(type: AuditType, context: RequestContext, entry: AuditEntry = {}): Promise<void> {
    const at = this.clock.now();
    const event: AuditEvent = {
      id: newId(at),
      at,
      type,
      actorId: entry.actorId ?? null,
      subjectId: entry.subjectId ?? null,
      ip: context.ip ?? null,
      userAgent: context.userAgent?.slice(0, 512) ?? null,
      requestId: context.requestId ?? null,
      details: entry.details ?? {},
    };
    this.onRecord(event);
    try {
      await this.store.append(event);
    } catch (error) {
      this.onError(error, event);
    }
  }

  /**
   * Events newest first, by user and type, in [since, until) (ms). Ids are UUIDv7s made from the
   * event's time, so the range is one over the primary key and a page costs the same at any depth.
   */
  list(query: { limit: number; before?: string; userId?: string; type?: AuditType; since?: number; until?: number }) {
    const { since, until, before, ...rest } = query;
    const upper = until === undefined ? before : before === undefined || idTimeBound(until) < before ? idTimeBound(until) : before;
    return this.store.list({ ...rest, before: upper, from: since === undefined ? undefined : idTimeBound(since) });
  }
}
