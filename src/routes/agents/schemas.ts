import { Type } from 'typebox';

export const AgentQuerySchema = Type.Object(
  {
    sort: Type.Literal('risk', { default: 'risk' }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

/** A point-of-sale agent with the share of its enrolments in flagged clusters. */
export const AgentSchema = Type.Object(
  {
    operator: Type.String(),
    posAgentId: Type.String(),
    enrolments: Type.Integer(),
    flaggedEnrolments: Type.Integer(),
    risk: Type.Number({ description: 'share of enrolments in flagged clusters, 0..1' }),
  },
  { $id: 'Agent', additionalProperties: false },
);

export const AgentListSchema = Type.Object({
  items: Type.Array(AgentSchema),
});
