import { Type } from '@sinclair/typebox';
import { IdParam, Text } from './common.js';
import { Password, UserView } from './users.js';

export const LoginBody = Type.Object(
  {
    login: Type.Optional(Text({ minLength: 1, maxLength: 254, description: 'username or email' })),
    username: Type.Optional(Text({ minLength: 1, maxLength: 254 })),
    email: Type.Optional(Text({ minLength: 1, maxLength: 254 })),
    password: Password,
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  // Long enough for any access token (a 401, not a 400, when one is sent here by mistake: CLM-06).
  { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: 'required unless the refresh cookie is sent (REFRESH_COOKIE=true)' })) },
  { additionalProperties: false },
);

export const TokenResponse = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'seconds until the access token expires; never past the session end (SES-07)' }),
    refresh_token: Type.Optional(Type.String({ description: 'absent in browser mode (REFRESH_COOKIE=true), where it is only in the HttpOnly cookie' })),
    refresh_expires_in: Type.Integer({ description: 'seconds until the session ends' }),
    scope: Type.String({ description: 'the granted scope, space-separated; empty when nothing was granted (RFC 6749 §5.1)' }),
    user: Type.Ref(UserView),
    amr: Type.Optional(
      Type.Array(Type.String(), {
        description: 'RFC 8176 methods of the sign-in: ["pwd"], ["pwd","otp","mfa"], ["hwk","user"] (passkey), ["otp"] or ["email"] (by email); also in the access token',
      }),
    ),
  },
  { $id: 'TokenResponse' },
);

export const PasswordBody = Type.Object({ current_password: Password, new_password: Password }, { additionalProperties: false });

export const LogoutBody = Type.Object(
  { scope: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('others'), Type.Literal('global')], { default: 'local' })) },
  { additionalProperties: false },
);

export const SessionView = Type.Object({
  id: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

export const SessionParams = Type.Object({ id: IdParam }, { additionalProperties: false });

// RFC 6749 §3.2: parameters the endpoint does not know are ignored, not refused, so these bodies
// admit extra members; every parameter the endpoint uses is still checked here. A repeated
// parameter is refused before validation (see oauth.ts).
const ClientParams = {
  client_id: Type.Optional(Text({ minLength: 1, maxLength: 256, description: 'client_secret_post or none (RFC 6749 §2.3.1); default: the first-party client `gatehouse`' })),
  client_secret: Type.Optional(Type.String({ maxLength: 512, description: 'client_secret_post; not for public clients' })),
};

/** RFC 6749 §4.1.3, §4.3, §4.4 and §6 in one body; which fields are needed depends on grant_type. */
export const OAuthTokenBody = Type.Object(
  {
    grant_type: Type.String({
      maxLength: 64,
      description: '`authorization_code`, `refresh_token`, `client_credentials` or `password`; any other value answers unsupported_grant_type',
    }),
    code: Type.Optional(Type.String({ maxLength: 256, description: 'authorization_code: the code from the authorization response' })),
    redirect_uri: Type.Optional(Type.String({ maxLength: 2048, description: 'authorization_code: the redirect_uri of the authorization request, exactly' })),
    code_verifier: Type.Optional(Type.String({ maxLength: 128, description: 'authorization_code: the PKCE verifier (RFC 7636)' })),
    username: Type.Optional(Text({ maxLength: 254 })),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
    refresh_token: Type.Optional(Type.String({ maxLength: 8192 })),
    scope: Type.Optional(Type.String({ maxLength: 1024, description: 'RFC 6749 §3.3; scope values the client may not have are ignored, and the response says what was granted' })),
    ...ClientParams,
  },
  { additionalProperties: true, description: 'Unrecognised parameters are ignored (RFC 6749 §3.2); those listed here may not be repeated.' },
);

/** RFC 7009 §2.1. */
export const OAuthRevokeBody = Type.Object(
  {
    token: Type.String({ maxLength: 8192, description: 'a refresh token or an access token; either ends its session' }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 64, description: '`refresh_token` or `access_token`; optional, since the two are told apart by their form' })),
    ...ClientParams,
  },
  { additionalProperties: true, description: 'Unrecognised parameters are ignored; those listed here may not be repeated.' },
);

export const OAuthError = Type.Object(
  {
    error: Type.String(),
    error_description: Type.Optional(Type.String()),
    mfa_token: Type.Optional(Type.String({ description: 'with error mfa_required (password grant, second factor enrolled): finish at POST /auth/mfa/verify' })),
    methods: Type.Optional(Type.Array(Type.String(), { description: 'with error mfa_required: totp, recovery_code, webauthn' })),
  },
  { $id: 'OAuthError', description: 'RFC 6749 §5.2 error' },
);
