import { Type } from '@sinclair/typebox';
import { IdParam } from './common.js';

/** A configured provider's id, as in `/auth/sso/<id>/start`. */
export const ProviderParams = Type.Object({ provider: Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z0-9][a-z0-9-]*$' }) }, { additionalProperties: false });

export const ProviderView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.Union([Type.Literal('oidc'), Type.Literal('github')], { description: 'oidc: an OpenID Connect issuer; github: GitHub (OAuth 2.0 and its API)' }),
});

export const ProviderList = Type.Object({ items: Type.Array(ProviderView) });

export const StartQuery = Type.Object(
  { redirect_to: Type.Optional(Type.String({ maxLength: 2048, description: 'where the browser goes afterwards; only this origin and CORS_ORIGINS are followed' })) },
  { additionalProperties: false },
);

/**
 * What a provider sends back. Only these are read; any other parameter a provider adds (`iss`,
 * `session_state`, `authuser`, ...) is ignored, since providers differ.
 */
export const CallbackQuery = Type.Object({
  state: Type.Optional(Type.String({ maxLength: 2048 })),
  code: Type.Optional(Type.String({ maxLength: 4096 })),
  error: Type.Optional(Type.String({ maxLength: 256 })),
  error_description: Type.Optional(Type.String({ maxLength: 2048 })),
});

export const LinkStartView = Type.Object({ authorization_url: Type.String({ description: 'send the browser here; the flow cookie is set by this answer' }) });

export const IdentityView = Type.Object({
  id: Type.String(),
  provider: Type.String(),
  email: Type.Union([Type.String(), Type.Null()], { description: 'the address the provider gave when last used' }),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time' }),
});

export const IdentityList = Type.Object({ items: Type.Array(IdentityView) });

export const IdentityParams = Type.Object({ id: IdParam }, { additionalProperties: false });
