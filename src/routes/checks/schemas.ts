import { Type } from 'typebox';
import { OPTIONAL_COLUMNS, REQUIRED_COLUMNS } from '../../services/kyc-validators.js';

/** Record fields of a check, named as manifest columns; the activation date defaults to today. */
const REQUIRED_FIELDS = REQUIRED_COLUMNS.filter((column) => column !== 'photo' && column !== 'activation_date');
const OPTIONAL_FIELDS = [...OPTIONAL_COLUMNS, 'activation_date'];

/** `POST /v1/checks` as `multipart/form-data`: the record's fields and the file part `photo`. */
export const CheckFormSchema = Type.Object(
  {
    ...Object.fromEntries(REQUIRED_FIELDS.map((field) => [field, Type.String()])),
    ...Object.fromEntries(OPTIONAL_FIELDS.map((field) => [field, Type.Optional(Type.String())])),
    photo: Type.String({ format: 'binary', description: 'the subscriber photo: JPEG, PNG or WebP' }),
  },
  { additionalProperties: false },
);

export const CheckQuerySchema = Type.Object(
  {
    store: Type.Boolean({
      default: false,
      description: 'also ingest the record as a one-record batch (operator and checker keys only)',
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

const FaceSchema = Type.Object({
  state: Type.String({ description: 'face_ready, or why the photo has no usable face' }),
  quality: Type.Record(Type.String(), Type.Unknown()),
});

export const CheckResultSchema = Type.Object(
  {
    decision: Type.Union([Type.Literal('allow'), Type.Literal('review'), Type.Literal('refuse')], {
      description:
        'refuse: the identity already holds its cap of connections; review: another rule fires (a person must ' +
        'look); allow: none does',
    }),
    reasons: Type.Array(Type.String(), { description: 'rules that would fire if the connection were activated' }),
    counts: Type.Object(
      {
        connections: Type.Integer({ description: "this subscriber's connections across all operators, with this one" }),
        identities: Type.Integer({ description: 'names and documents the subscriber goes by' }),
        simCap: Type.Integer({ description: 'connections allowed in the LSA (0 when the cap rule does not apply)' }),
      },
      { additionalProperties: false },
    ),
    face: FaceSchema,
    stored: Type.Union([Type.Object({ batch_id: Type.String() }), Type.Null()]),
    detail: Type.Optional(
      Type.Object(
        {
          matches: Type.Array(MatchSchema),
          clusterId: Type.Union([Type.Integer(), Type.Null()], { description: 'the cluster the face would join' }),
          score: Type.Number(),
          evidence: Type.Object({ identities: Type.Integer(), connections: Type.Integer(), simCap: Type.Integer() }),
          seconds: Type.Number({ description: 'time the worker spent on the check' }),
        },
        {
          additionalProperties: false,
          description: 'analyst keys only: the clusters matched and the evidence (other operators included)',
        },
      ),
    ),
  },
  { $id: 'CheckResult', additionalProperties: false },
);
