import { Type } from '@fastify/type-provider-typebox';
import { ListQuery, ListResponse, Text } from './common.schemas.ts';

const Timestamp = Type.String({ format: 'date-time' });

export const LoginBody = Type.Object(
  {
    email: Text({ minLength: 1, maxLength: 320, description: 'Case-insensitive.' }),
    password: Text({ minLength: 1, maxLength: 1024 }),
  },
  {
    additionalProperties: false,
    examples: [{ email: 'operator@northwind.example', password: 'correct horse battery staple' }],
  },
);

export const User = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')]),
  tenant: Type.Object({ id: Type.Integer(), slug: Type.String(), name: Type.String() }),
  allCustomers: Type.Boolean({ description: 'false: only the customers the user was given.' }),
});

export const UserResponse = Type.Object({ user: User });

export const CreateTokenBody = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 100 }),
    expiresInDays: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3650,
        description: 'Days until the token expires. Default: API_TOKEN_DAYS (90); no expiry when that is 0.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const CreatedToken = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  token: Type.String({ description: 'The secret. Shown only in this answer: store it now.' }),
  prefix: Type.String({ description: 'The first characters, to recognise the token in lists.' }),
  expiresAt: Type.Union([Timestamp, Type.Null()]),
});

export const TokenSummary = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  prefix: Type.String(),
  createdAt: Timestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()], { description: 'Updated at most once a minute.' }),
  expiresAt: Type.Union([Timestamp, Type.Null()]),
});

export const TokenListQuery = Type.Object({ ...ListQuery });
export const TokenList = ListResponse(TokenSummary);
