import { Type } from 'typebox';
import { ReasonSchema } from '../common.schemas.js';

export const ClusterListQuerySchema = Type.Object(
  {
    flagged: Type.Optional(Type.Boolean()),
    reason: Type.Optional(ReasonSchema),
    operator: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'operator code' })),
    lsa: Type.Optional(Type.String({ pattern: '^[A-Z]{2,3}$', description: 'licensed service area code' })),
    status: Type.Optional(
      Type.Union(
        ['pending', 'confirmed', 'dismissed', 'exported'].map((s) => Type.Literal(s)),
        {
          description: 'clusters with at least one block candidate in this status (pending: left to review)',
        },
      ),
    ),
    min_size: Type.Optional(Type.Integer({ minimum: 1 })),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'changed at or after' })),
    sort: Type.Optional(Type.Union(['id', 'score', 'size', 'updated'].map((s) => Type.Literal(s)))),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,400}$' })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);

export const ClusterCandidateSchema = Type.Object(
  {
    id: Type.Integer(),
    msisdn: Type.String(),
    operator: Type.String(),
    status: Type.String(),
    reasons: Type.Array(Type.String()),
    score: Type.Number(),
    decisionReason: Type.Union([Type.String(), Type.Null()]),
    decidedAt: Type.Union([Type.String(), Type.Null()]),
    decidedBy: Type.Union([Type.String(), Type.Null()]),
    source: Type.String(),
    reverification: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'ClusterCandidate', additionalProperties: false },
);

const ClusterSummarySchema = {
  id: Type.Integer(),
  size: Type.Integer(),
  reasons: Type.Array(Type.String()),
  evidence: Type.Record(Type.String(), Type.Unknown()),
  flagged: Type.Boolean(),
  score: Type.Number({ description: 'highest block-candidate score of the cluster, 0 when not flagged' }),
  updatedAt: Type.String(),
};

/** A cluster as the review queue lists it. */
export const ClusterListItemSchema = Type.Object(
  {
    ...ClusterSummarySchema,
    operators: Type.Array(Type.String()),
    lsas: Type.Array(Type.String()),
    pending: Type.Integer({ description: 'block candidates waiting for a decision' }),
  },
  { $id: 'ClusterListItem', additionalProperties: false },
);

/** One face of a cluster with the record it came from. */
export const ClusterMemberSchema = Type.Object(
  {
    faceId: Type.Integer(),
    recordId: Type.Integer(),
    operator: Type.String(),
    msisdn: Type.String(),
    name: Type.String(),
    fatherName: Type.Union([Type.String(), Type.Null()]),
    dob: Type.Union([Type.String(), Type.Null()]),
    idType: Type.String(),
    idMasked: Type.String(),
    lsa: Type.String(),
    posAgentId: Type.String(),
    activationDate: Type.String(),
    meanDistance: Type.Union([Type.Number(), Type.Null()]),
    thumbnailUrl: Type.String(),
    photoUrl: Type.String(),
  },
  { $id: 'ClusterMember', additionalProperties: false },
);

export const ClusterListSchema = Type.Object({
  items: Type.Array(ClusterListItemSchema),
  total: Type.Integer({ description: 'clusters matching the filters, over all pages' }),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const ClusterDetailSchema = Type.Object(
  {
    ...ClusterSummarySchema,
    members: Type.Array(ClusterMemberSchema),
    distances: Type.Array(Type.Array(Type.Union([Type.Number(), Type.Null()])), {
      description: 'face distance between members i and j, in member order',
    }),
    threshold: Type.Number({ description: "the embedder's same-person distance threshold" }),
    metric: Type.String(),
    nameSimilarity: Type.Array(Type.Array(Type.Number()), { description: 'normalised name similarity, 0..1' }),
    explanations: Type.Array(
      Type.Object({
        reason: Type.String(),
        text: Type.String(),
        score: Type.Optional(Type.Number({ description: 'score of the strongest finding behind this reason' })),
        parts: Type.Optional(
          Type.Array(
            Type.Object({
              part: Type.String({ description: 'face, conflict, context, connections, document or photo' }),
              value: Type.Number({ description: '0..1' }),
              text: Type.String(),
            }),
          ),
        ),
      }),
    ),
    candidates: Type.Array(ClusterCandidateSchema),
  },
  { $id: 'ClusterDetail', additionalProperties: false },
);
