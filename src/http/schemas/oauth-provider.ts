import { Type } from '@sinclair/typebox';
import { Text } from './common.js';

const Uri = Type.String({ minLength: 1, maxLength: 2000 });
const UriList = Type.Array(Uri, { maxItems: 10 });
const GrantTypes = Type.Array(Type.Union([Type.Literal('authorization_code'), Type.Literal('refresh_token'), Type.Literal('client_credentials'), Type.Literal('password')]), {
  minItems: 1,
  maxItems: 4,
  description: 'password: first-party clients only',
});
const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
  maxItems: 50,
  description: 'the scopes the client may be granted besides openid, profile, email, offline_access',
});

/** A registered client as admins see it; secrets never appear, only how many are live. */
export const ClientView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.Union([Type.Literal('public'), Type.Literal('confidential')]),
  first_party: Type.Boolean({ description: 'skips consent' }),
  grant_types: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  redirect_uris: Type.Array(Type.String()),
  post_logout_redirect_uris: Type.Array(Type.String()),
  id_token_signed_response_alg: Type.String(),
  active_secrets: Type.Integer({ description: 'how many secrets authenticate the client (two during a rotation)' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export const ClientWithSecretView = Type.Object({
  client: ClientView,
  client_secret: Type.Union([Type.String(), Type.Null()], { description: 'shown this once (OIDC-05); null for a public client' }),
});

/** What an admin may set on a client, at registration and later (the type only at registration). */
const ClientFields = {
  first_party: Type.Optional(Type.Boolean()),
  grant_types: Type.Optional(GrantTypes),
  scopes: Type.Optional(Scopes),
  redirect_uris: Type.Optional(UriList),
  post_logout_redirect_uris: Type.Optional(UriList),
  id_token_signed_response_alg: Type.Optional(Type.String({ maxLength: 16, description: "RS256 (default), or the access tokens' algorithm" })),
};

export const ClientCreateBody = Type.Object(
  { name: Text({ minLength: 1, maxLength: 100 }), type: Type.Union([Type.Literal('public'), Type.Literal('confidential')]), ...ClientFields },
  { additionalProperties: false },
);

export const ClientPatchBody = Type.Object({ name: Type.Optional(Text({ minLength: 1, maxLength: 100 })), ...ClientFields }, { additionalProperties: false });

export const SecretBody = Type.Object(
  { keep_previous: Type.Optional(Type.Boolean({ default: true, description: 'false: every older secret stops working at once' })) },
  { additionalProperties: false },
);

export const ClientParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_:.-]+$' }) }, { additionalProperties: false });

export const ConsentView = Type.Object({
  client_id: Type.String(),
  client_name: Type.String(),
  scope: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

/** The token response of the provider's grants (RFC 6749 §5.1, OIDC Core §3.1.3.3). */
export const OAuthGrantResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
  refresh_token: Type.Optional(Type.String({ description: 'first-party clients, or offline_access granted' })),
  refresh_expires_in: Type.Optional(Type.Integer()),
  id_token: Type.Optional(Type.String({ description: 'with the openid scope' })),
});

export const IntrospectBody = Type.Object(
  {
    token: Type.String({ maxLength: 8192 }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
    client_id: Type.Optional(Text({ minLength: 1, maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: true },
);

export const IntrospectResponse = Type.Object(
  {
    active: Type.Boolean(),
    token_type: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    sub: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    iss: Type.Optional(Type.String()),
    aud: Type.Optional(Type.String()),
    jti: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String()),
  },
  { description: 'RFC 7662 §2.2; only `active: false` for anything the caller may not see (OIDC-06)' },
);

export const ContinueResponse = Type.Object({
  action: Type.Union([Type.Literal('redirect'), Type.Literal('login'), Type.Literal('consent')]),
  redirect_to: Type.Optional(Type.String({ description: 'action redirect: where the browser goes next (the application)' })),
  client: Type.Optional(Type.Object({ id: Type.String(), name: Type.String() })),
  scopes: Type.Optional(Type.Array(Type.String())),
});

export const RequestParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false });

export const UserInfoResponse = Type.Object(
  {
    sub: Type.String(),
    preferred_username: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    updated_at: Type.Optional(Type.Integer()),
    email: Type.Optional(Type.String()),
    email_verified: Type.Optional(Type.Boolean()),
  },
  { description: 'OIDC Core §5.3: claims by the granted scope (profile, email)' },
);
