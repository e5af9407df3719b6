import { Type } from '@sinclair/typebox';
import { Email, Password } from './users.js';

/** A link token as a link carries it (`id.secret`); anything longer is not one of ours. */
const LinkToken = Type.String({ minLength: 1, maxLength: 256, description: 'the token from the link (the part after `#token=`, `#change=` or `#sign-in=`)' });

export const TokenBody = Type.Object({ token: LinkToken }, { additionalProperties: false });

export const EmailBody = Type.Object({ email: Email }, { additionalProperties: false });

export const ResetBody = Type.Object({ token: LinkToken, new_password: Password }, { additionalProperties: false });

export const SignInVerifyBody = Type.Object(
  {
    email: Type.Optional(Email),
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 16, pattern: '^[0-9 ]+$', description: 'the six-digit code from the message' })),
    token: Type.Optional(LinkToken),
  },
  { additionalProperties: false, description: 'Either `email` and `code`, or `token` (from the link).' },
);

/** The one answer of forgot-password and sign-in by email, whatever the address (EMAIL-02). */
export const AcceptedView = Type.Object({ status: Type.Literal('accepted'), detail: Type.String() });

export const PendingEmailView = Type.Object({ pending_email: Type.String({ description: 'the address a confirmation link was sent to; the change applies once it is followed' }) });

export const NoBody = Type.Object({}, { additionalProperties: false });
