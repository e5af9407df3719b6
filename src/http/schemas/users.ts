import { Type } from '@sinclair/typebox';
import { IdParam, Text, Timestamp } from './common.js';

// Lengths here bound the input (IN-01); the core applies the finer rules after normalisation.
export const Username = Text({ minLength: 1, maxLength: 64, description: '3..32 letters of any script with their combining marks, digits, "_", "." or "-"; case-insensitive (Unicode case folding); no invisible characters; refused when it looks like an existing username (UTS #39)' });
export const Email = Text({ minLength: 3, maxLength: 254 });
export const Password = Type.String({ minLength: 1, maxLength: 1024, description: '8..1024 bytes (UTF-8), any characters' });
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
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'User' },
);

export const RegisterBody = Type.Object(
  { username: Username, email: Email, password: Password, name: Type.Optional(DisplayName) },
  { additionalProperties: false },
);

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
