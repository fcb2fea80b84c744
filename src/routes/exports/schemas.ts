import { Type } from 'typebox';

export const ExportSchema = Type.Object(
  {
    id: Type.Integer(),
    operator: Type.String(),
    statuses: Type.Array(Type.String()),
    since: Type.Union([Type.String(), Type.Null()]),
    full: Type.Boolean(),
    rowCount: Type.Integer(),
    csvSha256: Type.String(),
    jsonSha256: Type.String(),
    createdBy: Type.String(),
    createdAt: Type.String(),
  },
  { $id: 'Export', additionalProperties: false },
);

export const ReverificationSchema = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          msisdn: Type.String({ pattern: '^\\+91[6-9][0-9]{9}$' }),
          outcome: Type.Union(['reverified', 'disconnected', 'kept'].map((o) => Type.Literal(o))),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
);
