import type { AuditEvent, AuditType, Page } from '../../core/model.js';
import type { AuditStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';
import { keysetPage } from './query.js';
import { AUDIT_COLUMNS, toAuditEvent } from './rows.js';

export class SqlAuditStore implements AuditStore {
  constructor(private readonly db: SqlDriver) {}

  async append(e: AuditEvent): Promise<void> {
    await this.db.run(`INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      e.id,
      e.at,
      e.type,
      e.actorId,
      e.subjectId,
      e.ip,
      e.userAgent,
      e.requestId,
      JSON.stringify(e.details),
    ]);
  }

  list(query: { limit: number; before?: string; from?: string; userId?: string; type?: AuditType }): Promise<Page<AuditEvent>> {
    // Newest first: the keyset runs downwards from `before`.
    return keysetPage(this.db, {
      from: `SELECT ${AUDIT_COLUMNS} FROM audit_events`,
      conditions: [
        query.userId !== undefined && ['(subject_id = ? OR actor_id = ?)', query.userId, query.userId],
        query.type !== undefined && ['type = ?', query.type],
        // The oldest id of a time range (ids are time-ordered): `since` on the admin audit view.
        query.from !== undefined && ['id >= ?', query.from],
      ],
      key: 'id',
      descending: true,
      after: query.before,
      limit: query.limit,
      map: toAuditEvent,
      keyOf: (e) => e.id,
    });
  }
}
