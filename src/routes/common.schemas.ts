import { Type, type TSchema } from 'typebox';

/** RFC 9457 problem details with simsift's stable `code`. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'stable machine-readable error code' }),
    detail: Type.Optional(Type.String()),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: 'Problem', additionalProperties: true },
);

export const problemResponses = {
  400: Type.Ref('Problem'),
  401: Type.Ref('Problem'),
  403: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
};

/** An upload's refusals besides those: too large (413), not a body it reads (415), over its rate or queue (429). */
export const uploadProblemResponses = {
  ...problemResponses,
  413: Type.Ref('Problem'),
  415: Type.Ref('Problem'),
  429: Type.Ref('Problem'),
};

export const RowErrorSchema = Type.Object(
  {
    row: Type.Integer({ description: 'data row number; 1 is the first row after the header' }),
    field: Type.String(),
    code: Type.String(),
    message: Type.String(),
  },
  { $id: 'RowError', additionalProperties: false },
);

/** A flag reason, as the rules name it. */
export const ReasonSchema = Type.Union(
  ['MULTI_IDENTITY_FACE', 'SIM_CAP_EXCEEDED', 'DOCUMENT_REUSE', 'PHOTO_REUSE', 'NO_USABLE_FACE'].map((r) =>
    Type.Literal(r),
  ),
);

/** A numeric id in the path (`/v1/clusters/:id`, `/v1/faces/:id/photo`). */
export const IdParamsSchema = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

/** A file in an upload or a download, as OpenAPI describes one (`type: string, format: binary`). */
export const BinarySchema = Type.String({ format: 'binary' });

/** A 200 answer whose body is a file in one of `types` (documentation: a streamed file is never serialised). */
export function fileResponse(description: string, types: readonly string[]) {
  return { description, content: Object.fromEntries(types.map((type) => [type, { schema: BinarySchema }])) };
}

/** One page of a list read with a cursor: the items, and the cursor of the next page (null on the last). */
export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });
}
