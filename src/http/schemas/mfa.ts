import { Type } from '@sinclair/typebox';
import { Password } from './users.js';

/** POST /auth/reauthenticate: one proof of presence (MFA-05). */
export const ReauthenticateBody = Type.Object(
  {
    password: Type.Optional(Password),
  },
  { additionalProperties: false },
);
