import { Type } from 'typebox';

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
