import { Type } from 'typebox';
import { pageOf, ReasonSchema } from '../common.schemas.js';

export const BlockCandidateQuerySchema = Type.Object(
  {
    status: Type.Optional(Type.Union(['pending', 'confirmed', 'dismissed', 'exported'].map((s) => Type.Literal(s)))),
    reason: Type.Optional(ReasonSchema),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);

/** A number the rules flagged, with its review status. */
export const BlockCandidateSchema = Type.Object(
  {
    id: Type.Integer(),
    clusterId: Type.Union([Type.Integer(), Type.Null()]),
    recordId: Type.Integer(),
    operator: Type.String(),
    msisdn: Type.String(),
    reasons: Type.Array(Type.String()),
    score: Type.Number(),
    status: Type.String(),
    updatedAt: Type.String(),
  },
  { $id: 'BlockCandidate', additionalProperties: false },
);

export const BlockCandidateListSchema = pageOf(BlockCandidateSchema);
