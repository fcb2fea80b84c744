import { Type } from 'typebox';

export const OperatorSchema = Type.Object(
  { id: Type.Integer(), code: Type.String(), name: Type.String(), createdAt: Type.String() },
  { $id: 'Operator', additionalProperties: false },
);

export const CreateOperatorBodySchema = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Za-z0-9_]{2,32}$' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);

export const CreateKeyBodySchema = Type.Object(
  {
    role: Type.Union([
      Type.Literal('operator'),
      Type.Literal('checker'),
      Type.Literal('analyst'),
      Type.Literal('admin'),
    ]),
    operator: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_]{2,32}$' })),
    label: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const CreatedKeySchema = Type.Object(
  {
    id: Type.Integer(),
    key: Type.String({ description: 'shown once; store it now' }),
    role: Type.String(),
    operator: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'CreatedKey', additionalProperties: false },
);

export const KeyParamsSchema = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

export const ErasureBodySchema = Type.Object(
  {
    msisdn: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    id_type: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    id_number: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false, description: 'the subscriber: msisdn, or id_type with id_number' },
);

export const ErasureOutcomeSchema = Type.Object(
  {
    records: Type.Integer(),
    faces: Type.Integer(),
    clusters: Type.Integer({ description: 'clusters that lost a face (judged again by the cluster worker)' }),
    candidates: Type.Integer(),
    photos: Type.Integer({ description: 'photo files deleted (a photo another record still uses stays)' }),
  },
  { $id: 'ErasureOutcome', additionalProperties: false },
);
