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
  { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'required unless the refresh cookie is sent (REFRESH_COOKIE=true)' })) },
  { additionalProperties: false },
);

export const TokenResponse = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'seconds' }),
    refresh_token: Type.Optional(Type.String({ description: 'absent in browser mode (REFRESH_COOKIE=true), where it is only in the HttpOnly cookie' })),
    refresh_expires_in: Type.Integer({ description: 'seconds until the session ends' }),
    user: Type.Ref(UserView),
  },
  { $id: 'TokenResponse' },
);

export const PasswordBody = Type.Object(
  { current_password: Password, new_password: Password },
  { additionalProperties: false },
);

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

/** RFC 6749 §4.3 and §6 in one body; which fields are needed depends on grant_type. */
export const OAuthTokenBody = Type.Object(
  {
    grant_type: Type.String({ maxLength: 64 }),
    username: Type.Optional(Text({ maxLength: 254 })),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
    refresh_token: Type.Optional(Type.String({ maxLength: 512 })),
    scope: Type.Optional(Type.String({ maxLength: 256 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const OAuthError = Type.Object(
  { error: Type.String(), error_description: Type.Optional(Type.String()) },
  { $id: 'OAuthError', description: 'RFC 6749 §5.2 error' },
);
