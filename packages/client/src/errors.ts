import type { Problem } from './types.js';

/** Codes the client itself raises; every other code is the server's problem+json `code`. */
export const CLIENT_ERROR_CODES = {
  /** Gatehouse could not be reached (network failure, CORS refusal, DNS). */
  ERR_CLIENT_NETWORK: 'ERR_CLIENT_NETWORK',
  /** Gatehouse answered something that is not its documented shape (a proxy's HTML page, say). */
  ERR_CLIENT_RESPONSE: 'ERR_CLIENT_RESPONSE',
  /** A call that needs a session was made while signed out, or the session ended (sign in again). */
  ERR_CLIENT_SIGNED_OUT: 'ERR_CLIENT_SIGNED_OUT',
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;
/**
 * A client code, or the server's stable `code` (`ERR_AUTH_INVALID_CREDENTIALS`, `ERR_USER_CONFLICT`,
 * `ERR_RATE_LIMITED`, `ERR_FORBIDDEN_ORIGIN`, ...). Switch on it; never on `message`.
 */
export type ErrorCode = ClientErrorCode | (string & {});

/**
 * Every failure the client reports is a GatehouseError with a stable `code`. A programmer's misuse
 * (a missing option, a token for a foreign origin) is a TypeError instead.
 */
export class GatehouseError extends Error {
  override readonly name = 'GatehouseError';
  readonly code: ErrorCode;
  /** The HTTP status, when the server answered. */
  readonly status: number | null;
  /** The server's problem details, when it sent them. */
  readonly problem: Problem | null;
  /** Seconds to wait before trying again (429 and 503 answers with `Retry-After`). */
  readonly retryAfter: number | null;

  constructor(code: ErrorCode, message: string, options: { status?: number; problem?: Problem; retryAfter?: number | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? null;
    this.problem = options.problem ?? null;
    this.retryAfter = options.retryAfter ?? null;
  }
}

/** The error a non-2xx answer stands for: the problem+json `code` when there is one. */
export async function errorFromResponse(res: Response): Promise<GatehouseError> {
  const retry = Number(res.headers.get('retry-after'));
  const retryAfter = Number.isFinite(retry) && retry >= 0 && res.headers.has('retry-after') ? retry : null;
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON: reported below as an unexpected answer.
  }
  if (isProblem(body)) return new GatehouseError(body.code, body.detail || body.title, { status: res.status, problem: body, retryAfter });
  return new GatehouseError(CLIENT_ERROR_CODES.ERR_CLIENT_RESPONSE, `Gatehouse answered ${res.status} without problem details.`, { status: res.status, retryAfter });
}

function isProblem(body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && typeof (body as Problem).code === 'string' && typeof (body as Problem).status === 'number';
}
