import { Type } from 'typebox';

const ReasonSchema = Type.Union(
  ['MULTI_IDENTITY_FACE', 'SIM_CAP_EXCEEDED', 'DOCUMENT_REUSE', 'PHOTO_REUSE', 'NO_USABLE_FACE'].map((r) =>
    Type.Literal(r),
  ),
);

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

const ClusterSummarySchema = {
  id: Type.Integer(),
  size: Type.Integer(),
  reasons: Type.Array(Type.String()),
  evidence: Type.Record(Type.String(), Type.Unknown()),
  flagged: Type.Boolean(),
  score: Type.Number({ description: 'highest block-candidate score of the cluster, 0 when not flagged' }),
  updatedAt: Type.String(),
};

export const ClusterListSchema = Type.Object({
  items: Type.Array(Type.Object(ClusterSummarySchema, { additionalProperties: false })),
  total: Type.Integer({ description: 'clusters matching the filters, over all pages' }),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const ClusterDetailSchema = Type.Object(
  {
    ...ClusterSummarySchema,
    members: Type.Array(
      Type.Object(
        {
          faceId: Type.Integer(),
          recordId: Type.Integer(),
          operator: Type.String(),
          msisdn: Type.String(),
          name: Type.String(),
          dob: Type.Union([Type.String(), Type.Null()]),
          idType: Type.String(),
          idMasked: Type.String(),
          lsa: Type.String(),
          posAgentId: Type.String(),
          activationDate: Type.String(),
          meanDistance: Type.Union([Type.Number(), Type.Null()]),
          thumbnailUrl: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const IdParamsSchema = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

export const BlockCandidateQuerySchema = Type.Object(
  {
    status: Type.Optional(Type.Union(['pending', 'confirmed', 'dismissed', 'exported'].map((s) => Type.Literal(s)))),
    reason: Type.Optional(ReasonSchema),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);

export const BlockCandidateListSchema = Type.Object({
  items: Type.Array(
    Type.Object(
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
      { additionalProperties: false },
    ),
  ),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const AgentQuerySchema = Type.Object(
  {
    sort: Type.Literal('risk', { default: 'risk' }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

export const AgentListSchema = Type.Object({
  items: Type.Array(
    Type.Object(
      {
        operator: Type.String(),
        posAgentId: Type.String(),
        enrolments: Type.Integer(),
        flaggedEnrolments: Type.Integer(),
        risk: Type.Number({ description: 'share of enrolments in flagged clusters, 0..1' }),
      },
      { additionalProperties: false },
    ),
  ),
});
