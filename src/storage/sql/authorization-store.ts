import type { AuthorizationCode, AuthorizationRequest } from '../../core/model.js';
import type { AuthorizationStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';

interface RequestRow {
  id: string;
  client_id: string;
  redirect_uri: string;
  scope: string;
  state: string | null;
  nonce: string | null;
  code_challenge: string;
  prompt: string;
  max_age: number | null;
  login_hint: string | null;
  created_at: number;
  expires_at: number;
}

interface CodeRow {
  id: string;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  code_challenge: string;
  scope: string;
  nonce: string | null;
  auth_time: number;
  amr: string;
  browser_session_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  session_id: string | null;
  replayed_at: number | null;
}

const REQUEST_COLUMNS = 'id, client_id, redirect_uri, scope, state, nonce, code_challenge, prompt, max_age, login_hint, created_at, expires_at';
const CODE_COLUMNS =
  'id, client_id, user_id, redirect_uri, code_challenge, scope, nonce, auth_time, amr, browser_session_id, created_at, expires_at, used_at, session_id, replayed_at';

const toRequest = (r: RequestRow): AuthorizationRequest => ({
  id: r.id,
  clientId: r.client_id,
  redirectUri: r.redirect_uri,
  scope: r.scope,
  state: r.state,
  nonce: r.nonce,
  codeChallenge: r.code_challenge,
  prompt: r.prompt === '' ? [] : r.prompt.split(' '),
  maxAge: r.max_age === null ? null : Number(r.max_age),
  loginHint: r.login_hint,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

const toCode = (r: CodeRow): AuthorizationCode => ({
  id: r.id,
  clientId: r.client_id,
  userId: r.user_id,
  redirectUri: r.redirect_uri,
  codeChallenge: r.code_challenge,
  scope: r.scope,
  nonce: r.nonce,
  authTime: Number(r.auth_time),
  amr: JSON.parse(r.amr) as string[],
  browserSessionId: r.browser_session_id,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  usedAt: r.used_at === null ? null : Number(r.used_at),
  sessionId: r.session_id,
  replayedAt: r.replayed_at === null ? null : Number(r.replayed_at),
});

export class SqlAuthorizationStore implements AuthorizationStore {
  constructor(private readonly db: SqlDriver) {}

  async saveRequest(r: AuthorizationRequest): Promise<void> {
    await this.db.run(`INSERT INTO oauth_requests (${REQUEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      r.id,
      r.clientId,
      r.redirectUri,
      r.scope,
      r.state,
      r.nonce,
      r.codeChallenge,
      r.prompt.join(' '),
      r.maxAge,
      r.loginHint,
      r.createdAt,
      r.expiresAt,
    ]);
  }

  async findRequest(id: string): Promise<AuthorizationRequest | null> {
    const row = await this.db.get<RequestRow>(`SELECT ${REQUEST_COLUMNS} FROM oauth_requests WHERE id = ?`, [id]);
    return row ? toRequest(row) : null;
  }

  async takeRequest(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM oauth_requests WHERE id = ?', [id])) > 0;
  }

  async saveCode(c: AuthorizationCode): Promise<void> {
    await this.db.run(`INSERT INTO oauth_codes (${CODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      c.id,
      c.clientId,
      c.userId,
      c.redirectUri,
      c.codeChallenge,
      c.scope,
      c.nonce,
      c.authTime,
      JSON.stringify(c.amr),
      c.browserSessionId,
      c.createdAt,
      c.expiresAt,
      c.usedAt,
      c.sessionId,
      c.replayedAt,
    ]);
  }

  async findCode(id: string): Promise<AuthorizationCode | null> {
    const row = await this.db.get<CodeRow>(`SELECT ${CODE_COLUMNS} FROM oauth_codes WHERE id = ?`, [id]);
    return row ? toCode(row) : null;
  }

  async redeemCode(id: string, sessionId: string, at: number): Promise<boolean> {
    // The compare-and-swap that makes a code single-use: only one UPDATE finds used_at empty.
    return (await this.db.run('UPDATE oauth_codes SET used_at = ?, session_id = ? WHERE id = ? AND used_at IS NULL', [at, sessionId, id])) === 1;
  }

  async markCodeReplayed(id: string, at: number): Promise<void> {
    // The first replay's time is kept: later ones add nothing.
    await this.db.run('UPDATE oauth_codes SET replayed_at = ? WHERE id = ? AND replayed_at IS NULL', [at, id]);
  }

  async revokeClientToken(jti: string, clientId: string, expiresAt: number): Promise<void> {
    await this.db.run('INSERT INTO oauth_revoked_tokens (jti, client_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING', [jti, clientId, expiresAt]);
  }

  async isClientTokenRevoked(jti: string): Promise<boolean> {
    return (await this.db.get<{ one: number }>('SELECT 1 AS one FROM oauth_revoked_tokens WHERE jti = ?', [jti])) !== undefined;
  }

  async deleteExpired(before: number): Promise<number> {
    const requests = await this.db.run('DELETE FROM oauth_requests WHERE expires_at < ?', [before]);
    const revoked = await this.db.run('DELETE FROM oauth_revoked_tokens WHERE expires_at < ?', [before]);
    return requests + revoked + (await this.db.run('DELETE FROM oauth_codes WHERE expires_at < ?', [before]));
  }
}
