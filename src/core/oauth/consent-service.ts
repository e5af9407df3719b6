import type { AuditLog, RequestContext } from '../audit.js';
import type { SessionService } from '../auth/session-service.js';
import { NotFoundError } from '../errors.js';
import type { Consent, OAuthClient } from '../model.js';
import type { Clock, ConsentStore } from '../ports.js';
import { scopeCovers, scopeList } from './scopes.js';

/**
 * OIDC-07: what users agreed to give third-party clients, remembered per set of scopes. A request
 * for scopes the user already granted that client asks nothing; one for more asks again, and the
 * answer covers the union. First-party clients never ask.
 */
export class ConsentService {
  constructor(
    private readonly store: ConsentStore,
    private readonly sessions: SessionService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /** Whether the user has agreed to give `client` every scope of `scope`. */
  async covers(userId: string, client: OAuthClient, scope: string): Promise<boolean> {
    if (client.firstParty) return true;
    const consent = await this.store.find(userId, client.id);
    return consent !== null && scopeCovers(consent.scope, scope);
  }

  async grant(userId: string, clientId: string, scope: string, context: RequestContext = {}): Promise<void> {
    const now = this.clock.now();
    const existing = await this.store.find(userId, clientId);
    const union = [...new Set([...scopeList(existing?.scope ?? ''), ...scopeList(scope)])].sort().join(' ');
    await this.store.save({ userId, clientId, scope: union, createdAt: existing?.createdAt ?? now, updatedAt: now });
    await this.audit.record('oauth.consent_granted', context, { actorId: userId, subjectId: userId, details: { client_id: clientId, scope: union } });
  }

  list(userId: string): Promise<Consent[]> {
    return this.store.listForUser(userId);
  }

  /** Withdraws consent; the client's sessions for this user end with it (its tokens stop working). */
  async revoke(userId: string, clientId: string, context: RequestContext = {}): Promise<void> {
    if (!(await this.store.delete(userId, clientId))) throw new NotFoundError('ERR_CONSENT_NOT_FOUND');
    const ended = await this.sessions.endClientSessions(userId, clientId);
    await this.audit.record('oauth.consent_revoked', context, { actorId: userId, subjectId: userId, details: { client_id: clientId, sessions: ended } });
  }
}
