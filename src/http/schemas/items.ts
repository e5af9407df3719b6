import { Type } from '@sinclair/typebox';
import { Timestamp } from './common.js';

// No control characters and no "/", so every name can be addressed as /items/:name.
export const ItemName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f/]+$' });
export const Price = Type.Number({ minimum: 0, maximum: 1_000_000_000_000, description: 'non-negative, at most two decimals; stored exactly' });
// Free text may hold line breaks and tabs, never NUL (Postgres cannot store it).
export const Description = Type.Union([Type.String({ maxLength: 2000, pattern: '^[^\\u0000]*$' }), Type.Null()]);

export const ItemView = Type.Object(
  {
    name: Type.String(),
    price: Type.Number(),
    description: Type.Union([Type.String(), Type.Null()]),
    owner_id: Type.String(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Item' },
);

export const CreateItemBody = Type.Object({ name: ItemName, price: Price, description: Type.Optional(Description) }, { additionalProperties: false });
export const PutItemBody = Type.Object({ price: Price, description: Type.Optional(Description) }, { additionalProperties: false });
export const PatchItemBody = Type.Object(
  { name: Type.Optional(ItemName), price: Type.Optional(Price), description: Type.Optional(Description) },
  { additionalProperties: false, minProperties: 1 },
);
export const ItemParams = Type.Object({ name: ItemName }, { additionalProperties: false });
