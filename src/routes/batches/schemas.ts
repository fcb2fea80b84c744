import { Type } from 'typebox';
import { RECORD_STATES } from '../../services/record-states.js';
import { BinarySchema, pageOf, RowErrorSchema } from '../common.schemas.js';

export const UploadQuerySchema = Type.Object(
  {
    operator: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9_]{2,32}$', description: 'operator code; admin keys must name one' }),
    ),
  },
  { additionalProperties: false },
);

export const UploadHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$', description: 'retry-safe upload key' }),
  ),
});

/** `POST /v1/batches` as `multipart/form-data`: the manifest and one file part per photo it names. */
export const UploadFormSchema = Type.Object({
  manifest: Type.String({
    format: 'binary',
    description:
      'the manifest CSV with a header row (a file part, or a text field): msisdn, name, id_type, id_number, lsa, ' +
      'pos_agent_id, activation_date, photo, and optionally father_name, dob, gender, address',
  }),
  photos: Type.Optional(
    Type.Array(BinarySchema, {
      description:
        "the photos, one file part each, matched to rows by the part's file name (the manifest's `photo` column); " +
        'the field name of a photo part is free, `photos` is only a convention',
    }),
  ),
});

/** `POST /v1/batches` as a zip: `manifest.csv` and the photos, named by their path in the zip or their file name. */
export const UploadZipSchema = Type.String({
  format: 'binary',
  description: 'a zip archive holding manifest.csv and the photos it names',
});

export const UploadResultSchema = Type.Object(
  {
    batch_id: Type.String({ format: 'uuid' }),
    accepted: Type.Integer(),
    rejected: Type.Integer(),
    errors: Type.Array(RowErrorSchema),
    warnings: Type.Optional(
      Type.Array(
        Type.Object(
          { code: Type.String(), photo: Type.String(), message: Type.String() },
          { additionalProperties: false },
        ),
        { description: 'uploaded photos that no row names (ignored); absent when there are none' },
      ),
    ),
  },
  { $id: 'UploadResult', additionalProperties: false },
);

export const BatchParamsSchema = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

export const BatchSchema = Type.Object(
  {
    id: Type.String(),
    operator: Type.String(),
    source: Type.String(),
    state: Type.Union([Type.Literal('processing'), Type.Literal('completed')]),
    total_rows: Type.Integer(),
    accepted: Type.Integer(),
    rejected: Type.Integer(),
    counts: Type.Record(Type.String(), Type.Integer(), { description: 'records per state' }),
    progress: Type.Number({ minimum: 0, maximum: 1 }),
    created_at: Type.String(),
    updated_at: Type.String(),
    completed_at: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Batch', additionalProperties: false },
);

export const BatchListQuerySchema = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);

export const BatchListSchema = pageOf(BatchSchema);

export const RecordListQuerySchema = Type.Object(
  {
    state: Type.Optional(Type.Union(RECORD_STATES.map((state) => Type.Literal(state)))),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const KycRecordSchema = Type.Object(
  {
    id: Type.Integer(),
    rowNumber: Type.Integer(),
    msisdn: Type.String(),
    name: Type.String(),
    fatherName: Nullable(Type.String()),
    dob: Nullable(Type.String()),
    gender: Nullable(Type.String()),
    idType: Type.String(),
    idMasked: Type.String({ description: 'identity document with all but the last 4 characters masked' }),
    address: Nullable(Type.String()),
    lsa: Type.String(),
    posAgentId: Type.String(),
    activationDate: Type.String(),
    photoSha256: Type.String(),
    state: Type.String(),
    stateDetail: Type.Unknown(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { $id: 'KycRecord', additionalProperties: false },
);

export const RecordListSchema = pageOf(KycRecordSchema);

export const BatchErrorsSchema = Type.Object({ errors: Type.Array(RowErrorSchema) });
