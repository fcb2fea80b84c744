import { Type } from 'typebox';

export const CheckQuerySchema = Type.Object(
  {
    store: Type.Boolean({
      default: false,
      description: 'also ingest the record as a one-record batch (operator keys only)',
    }),
  },
  { additionalProperties: false },
);

export const CheckHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

const MatchSchema = Type.Object(
  {
    clusterId: Type.Integer(),
    size: Type.Integer(),
    meanDistance: Type.Number(),
    support: Type.Number(),
    joins: Type.Boolean({ description: 'the clusterer would put this face in the cluster' }),
    flagged: Type.Boolean(),
    reasons: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

export const CheckResultSchema = Type.Object(
  {
    face: Type.Object({
      state: Type.String({ description: 'face_ready, or why the photo has no usable face' }),
      quality: Type.Record(Type.String(), Type.Unknown()),
    }),
    matches: Type.Array(MatchSchema),
    clusterId: Type.Union([Type.Integer(), Type.Null()], { description: 'the cluster the face would join' }),
    reasons: Type.Array(Type.String(), { description: 'rules that would fire if the connection were activated' }),
    score: Type.Number(),
    evidence: Type.Object({ identities: Type.Integer(), connections: Type.Integer(), simCap: Type.Integer() }),
    seconds: Type.Number({ description: 'time the worker spent on the check' }),
    stored: Type.Union([Type.Object({ batch_id: Type.String() }), Type.Null()]),
  },
  { additionalProperties: false },
);
