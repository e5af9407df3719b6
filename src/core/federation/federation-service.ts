import type { AuditLog, RequestContext } from '../audit.js';
import type { ClientContext, SessionService, TokenGrant } from '../auth/session-service.js';
import type { SignInMethods } from '../auth/sign-in-methods.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { EmailService } from '../email/email-service.js';
import { AppError, LastSignInMethodError, NotFoundError } from '../errors.js';
import { newId } from '../ids.js';
import type { LinkedIdentity, User } from '../model.js';
import { canonicalEmail, emailProblem } from '../normalize.js';
import { FIRST_PARTY_CLIENT_ID } from '../oauth/clients.js';
import type { Clock, CounterStore, IdentityStore, MailEffects, UserStore } from '../ports.js';
import type { UserService } from '../users/user-service.js';
import { FederationError } from './errors.js';
import { FLOW_TTL_MS, newFlow, openFlow, sealFlow, type Flow } from './flow.js';
import type { ProviderRegistry } from './providers.js';
import type { ProviderConfig, UpstreamProfile } from './upstream.js';
import { usernameCandidates } from './usernames.js';

export interface FederationDeps {
  readonly users: UserStore;
  readonly identities: IdentityStore;
  readonly providers: ProviderRegistry;
  readonly userService: UserService;
  readonly sessions: SessionService;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly secrets: SecretBox;
  /** Marks flows used (shared between instances when Redis is configured). */
  readonly counters: CounterStore;
  readonly email: EmailService | null;
  /** Every way to sign in a user has (this service registers linked identities with it). */
  readonly signInMethods: SignInMethods;
}

/** How far ahead of ours a provider's clock may be when it says when the user authenticated. */
const CLOCK_SKEW_MS = 30_000;

/** What a completed callback did. */
export type FederationResult =
  | { readonly kind: 'signed-in'; readonly grant: TokenGrant; readonly created: boolean; readonly redirectTo: string | null }
  | { readonly kind: 'linked'; readonly identity: LinkedIdentity; readonly redirectTo: string | null };

/**
 * Signing in through other identity providers, and linking their accounts to users.
 *
 * The linking rule (API.md, FED-02): an upstream account already linked signs in to its user. An
 * unlinked one whose address belongs to a local account joins that account only when the provider
 * marks the address verified and the local address is verified too; otherwise nothing happens and
 * the person is told to sign in and link from the account page (an address someone merely typed
 * at a provider must not open another person's account). Any other upstream account gets a new
 * user. The result is always Gatehouse's own session and tokens.
 */
export class FederationService {
  constructor(
    private readonly deps: FederationDeps,
    private readonly settings: { readonly publicUrl: string; readonly reauthMaxAgeMs: number },
  ) {
    // Each linked identity is a way to sign in: unlinking (or removing a password or passkey) may
    // not take away the last one (MFA-07).
    // Only identities of providers configured now count: one whose provider was removed signs nobody in.
    deps.signInMethods.add(async (user) => {
      const configured = new Set((await deps.providers.all()).map((p) => p.id));
      return (await deps.identities.listForUser(user.id)).filter((i) => configured.has(i.provider)).map((i) => ({ kind: 'identity', id: i.id }));
    });
  }

  /** The callback URL registered at the provider. */
  redirectUri(providerId: string): string {
    return `${this.settings.publicUrl}/auth/sso/${encodeURIComponent(providerId)}/callback`;
  }

  /** GET /auth/providers: what the sign-in page shows. */
  async listProviders(): Promise<{ id: string; name: string; type: 'oidc' | 'github' }[]> {
    return (await this.deps.providers.all()).map(({ id, name, type }) => ({ id, name, type }));
  }

  /**
   * Begins a flow: the URL to send the browser to, and the sealed flow for its cookie. With
   * `linkUserId` (from the account page), the callback links instead of signing in.
   */
  async start(providerId: string, options: { redirectTo: string | null; linkUserId: string | null; linkSessionId: string | null }): Promise<{ url: string; flow: string }> {
    const provider = await this.deps.providers.get(providerId);
    const flow = newFlow(provider.id, this.deps.clock.now(), options);
    const url = await this.deps.providers.upstream(provider).authorizationUrl(this.redirectUri(provider.id), flow);
    return { url, flow: sealFlow(this.deps.secrets, flow) };
  }

  /** The provider sent the browser back: check everything, then sign in or link. */
  async complete(providerId: string, callbackUrl: URL, sealedFlow: string | undefined, context: ClientContext): Promise<FederationResult> {
    let flow: Flow | null = null;
    try {
      const provider = await this.deps.providers.get(providerId);
      const now = this.deps.clock.now();
      flow = openFlow(this.deps.secrets, sealedFlow, provider.id, now);
      // A flow is used once: replaying a callback (with its state, code and cookie) gets nothing.
      const { count } = await this.deps.counters.increment(`sso-flow:${flow.id}`, FLOW_TTL_MS, now);
      if (count > 1) throw new FederationError('flow', undefined, 'flow used already');
      // FED-01: the answer must belong to the flow this browser started (login CSRF, mix-up).
      if (callbackUrl.searchParams.get('state') !== flow.state) throw new FederationError('flow', undefined, 'state mismatch');
      const profile = await this.deps.providers.upstream(provider).finish(callbackUrl, this.redirectUri(provider.id), flow);
      if (flow.linkUserId) return { kind: 'linked', identity: await this.link(flow, provider, profile, context), redirectTo: flow.redirectTo };
      return { ...(await this.signIn(provider, profile, context)), redirectTo: flow.redirectTo };
    } catch (error) {
      if (error instanceof FederationError) error.linking = flow?.linkUserId != null;
      // Every refusal is audited, ours and the rest of the service's (a taken name, an unverified address).
      if (error instanceof AppError) await this.refused(providerId, error, context, flow?.linkUserId ?? null);
      throw error;
    }
  }

  private async refused(provider: string, error: AppError, context: RequestContext, userId: string | null): Promise<void> {
    const [reason, detail] = error instanceof FederationError ? [error.reason, error.detail] : [error.code, null];
    await this.deps.audit.record('sso.refused', context, {
      actorId: userId,
      subjectId: userId,
      details: { provider: provider.slice(0, 40), reason, detail: detail?.slice(0, 200) ?? null },
    });
  }

  private async signIn(provider: ProviderConfig, profile: UpstreamProfile, context: ClientContext): Promise<{ kind: 'signed-in'; grant: TokenGrant; created: boolean }> {
    const now = this.deps.clock.now();
    let created = false;
    let user: User | null;
    const known = await this.deps.identities.findBySubject(provider.id, profile.issuer, profile.subject);
    if (known) {
      user = await this.deps.users.findById(known.userId);
      await this.deps.identities.touch(known.id, now, profile.email);
    } else {
      const email = profile.email === null ? null : canonicalEmail(profile.email);
      if (email === null || emailProblem(profile.email!, email) !== null) throw new FederationError('no_email');
      // FED-02: an address the provider did not verify is refused before any lookup, with one answer
      // whether or not a local account has it: no pre-created account waiting for its owner, no oracle.
      if (!profile.emailVerified) throw new FederationError('no_email', undefined, 'upstream address not verified');
      user = await this.deps.users.findByEmail(email);
      if (user) {
        if (!user.emailVerified) throw new FederationError('link_required', undefined, 'local address not verified');
        if (user.disabled) throw new FederationError('disabled', 'This account is disabled.');
        const identity = this.identity(user.id, provider, profile, now);
        await this.deps.identities.link(identity, this.linkedNotice(user, provider));
        this.deps.email?.afterQueued();
        await this.deps.audit.record('sso.linked', context, {
          actorId: user.id,
          subjectId: user.id,
          details: { provider: provider.id, identity_id: identity.id, automatic: true },
        });
      } else {
        const { id, ...identity } = this.identity('', provider, profile, now);
        user = await this.deps.userService.createFromProvider(
          { usernames: usernameCandidates(profile.usernameHints, email, profile.name), email, name: profile.name, emailVerified: true },
          { id, provider: identity.provider, issuer: identity.issuer, subject: identity.subject, email: identity.email },
          context,
        );
        created = true;
      }
    }
    if (!user || user.disabled) throw new FederationError('disabled', 'This account is disabled.');
    this.deps.email?.assertMaySignIn(user);
    // The proof happened at the provider: no RFC 8176 method of ours names it, so none is claimed
    // (in particular not `pwd`), and its time is the provider's word (see sessionAuthTime).
    const authTime = this.sessionAuthTime(profile);
    const grant = await this.deps.sessions.start(user, context, { clientId: FIRST_PARTY_CLIENT_ID }, { amr: [], authTime });
    await this.deps.audit.record('sso.signed_in', context, { actorId: user.id, subjectId: user.id, details: { provider: provider.id, session_id: grant.sessionId, created } });
    return { kind: 'signed-in', grant, created };
  }

  /**
   * When the session's user last proved who they are. A provider that keeps its own long session
   * signs in without asking anything, so the time of our callback proves nothing: a stolen upstream
   * session must not pass step-up (unlink, password or address change). Its `auth_time` counts when
   * it gives one (a small clock skew tolerated); without one the session starts too old for step-up.
   */
  private sessionAuthTime(profile: UpstreamProfile): number {
    const now = this.deps.clock.now();
    if (profile.authTime !== null && profile.authTime <= now + CLOCK_SKEW_MS) return Math.min(profile.authTime, now);
    return now - this.settings.reauthMaxAgeMs - 1000;
  }

  /** Started from the account page: the signed-in user proved both accounts, so the addresses do not matter. */
  private async link(flow: Flow, provider: ProviderConfig, profile: UpstreamProfile, context: RequestContext): Promise<LinkedIdentity> {
    const user = await this.deps.users.findById(flow.linkUserId!);
    if (!user || user.disabled) throw new FederationError('disabled', 'This account is disabled.');
    // The link belongs to the session that asked for it: signed out (or revoked after a theft) in
    // the meantime, the flow links nothing.
    if (!flow.linkSessionId || !(await this.deps.sessions.isSessionLive(flow.linkSessionId, user.id))) {
      throw new FederationError('flow', undefined, 'the session that started the link ended');
    }
    const now = this.deps.clock.now();
    const known = await this.deps.identities.findBySubject(provider.id, profile.issuer, profile.subject);
    if (known && known.userId !== user.id) throw new FederationError('identity_taken');
    if (known) {
      await this.deps.identities.touch(known.id, now, profile.email);
      return known;
    }
    const identity = this.identity(user.id, provider, profile, now);
    try {
      await this.deps.identities.link(identity, this.linkedNotice(user, provider));
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_SSO_IDENTITY_TAKEN') throw new FederationError('identity_taken');
      throw error;
    }
    this.deps.email?.afterQueued();
    await this.deps.audit.record('sso.linked', context, { actorId: user.id, subjectId: user.id, details: { provider: provider.id, identity_id: identity.id, automatic: false } });
    return identity;
  }

  /** A new way into the account is never silent: its address hears of it, in the link's transaction. */
  private linkedNotice(user: User, provider: ProviderConfig): MailEffects | undefined {
    return this.deps.email ? { mail: [this.deps.email.identityLinkedNotice(user, provider.name)] } : undefined;
  }

  private identity(userId: string, provider: ProviderConfig, profile: UpstreamProfile, now: number): LinkedIdentity {
    return { id: newId(now), userId, provider: provider.id, issuer: profile.issuer, subject: profile.subject, email: profile.email, createdAt: now, lastUsedAt: now };
  }

  /** GET /auth/identities. */
  identities(userId: string): Promise<LinkedIdentity[]> {
    return this.deps.identities.listForUser(userId);
  }

  /** DELETE /auth/identities/:id (the route checks recent authentication first). */
  async unlink(user: User, identityId: string, context: RequestContext): Promise<void> {
    const mine = await this.deps.identities.listForUser(user.id);
    const identity = mine.find((i) => i.id === identityId);
    if (!identity) throw new NotFoundError('ERR_SSO_IDENTITY_NOT_FOUND');
    try {
      await this.deps.signInMethods.assertMayRemove(user, (m) => m.kind === 'identity' && m.id === identityId);
    } catch (error) {
      if (error instanceof LastSignInMethodError) await this.refused(identity.provider, new FederationError('last_method'), context, user.id);
      throw error;
    }
    // Only linked identities left: the store rechecks that another remains as it deletes (a
    // concurrent unlink of that other one must not leave the account with no way in).
    const othersThanIdentities = (await this.deps.signInMethods.list(user)).some((m) => m.kind !== 'identity');
    const keepAnotherOf = othersThanIdentities ? undefined : (await this.deps.providers.all()).map((p) => p.id);
    if (!(await this.deps.identities.unlink(user.id, identityId, { keepAnotherOf }))) {
      if (keepAnotherOf && (await this.deps.identities.listForUser(user.id)).some((i) => i.id === identityId)) {
        await this.refused(identity.provider, new FederationError('last_method'), context, user.id);
        throw new LastSignInMethodError();
      }
      throw new NotFoundError('ERR_SSO_IDENTITY_NOT_FOUND');
    }
    await this.deps.audit.record('sso.unlinked', context, { actorId: user.id, subjectId: user.id, details: { provider: identity.provider, identity_id: identity.id } });
  }
}
