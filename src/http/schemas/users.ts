import { Type } from '@sinclair/typebox';
import { IdParam, Text, Timestamp } from './common.js';

// Lengths here bound the input (IN-01); the core applies the finer rules after normalisation.
export const Username = Text({
  minLength: 1,
  maxLength: 64,
  description:
    'At most 64 characters are read; after normalisation the name must be 3..32 letters of any script with their combining marks, digits, "_", "." or "-" (else 400 ERR_VALIDATION). ' +
    'Case-insensitive (Unicode case folding); no invisible characters; refused when it looks like an existing username (UTS #39).',
});
export const Email = Text({ minLength: 3, maxLength: 254 });
export const Password = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: 'Any characters, at most 1024 of them; a new password must be 8..1024 bytes once encoded as UTF-8 (else 400 ERR_VALIDATION).',
});
export const DisplayName = Text({ maxLength: 100, description: 'Free text; no invisible or text-direction characters, except inside emoji sequences' });
export const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')]);
export const UserId = IdParam;

/** The user as shown to others; `email` and `disabled` only to the user themself and to admins. */
export const UserView = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    email: Type.Optional(Type.String()),
    name: Type.Union([Type.String(), Type.Null()]),
    role: Role,
    disabled: Type.Optional(Type.Boolean()),
    email_verified: Type.Optional(Type.Boolean({ description: 'the address was proven by following a link sent to it; shown with email' })),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'User' },
);

const directoryFields = { id: Type.String(), username: Type.String(), name: Type.Union([Type.String(), Type.Null()]) };

/**
 * A user as the directory shows them to other signed-in users: who they are, not their role or
 * address (a list of admins is a list of targets). A schema of its own, so the serializer writes
 * nothing else whatever the code hands it.
 */
export const UserDirectoryEntry = Type.Object(directoryFields, { $id: 'UserDirectoryEntry', additionalProperties: false });
/** The same, without $id, for the serializer compiled per request (see routes/users.ts). */
export const UserDirectoryEntryInline = Type.Object(directoryFields, { additionalProperties: false });

export const RegisterBody = Type.Object({ username: Username, email: Email, password: Password, name: Type.Optional(DisplayName) }, { additionalProperties: false });

export const CreateUserBody = Type.Object(
  { username: Username, email: Email, password: Password, name: Type.Optional(DisplayName), role: Type.Optional(Role) },
  { additionalProperties: false },
);

export const UpdateMeBody = Type.Object(
  { username: Type.Optional(Username), email: Type.Optional(Email), name: Type.Optional(Type.Union([DisplayName, Type.Null()])) },
  { additionalProperties: false, minProperties: 1 },
);

export const UpdateUserBody = Type.Object(
  {
    username: Type.Optional(Username),
    email: Type.Optional(Email),
    name: Type.Optional(Type.Union([DisplayName, Type.Null()])),
    role: Type.Optional(Role),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const UserParams = Type.Object({ id: UserId }, { additionalProperties: false });
