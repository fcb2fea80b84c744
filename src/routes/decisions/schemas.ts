import { Type } from 'typebox';

const MsisdnSchema = Type.String({ pattern: '^\\+91[6-9][0-9]{9}$' });
const SourceSchema = Type.Union(['analysis', 'law_enforcement', 'bank'].map((r) => Type.Literal(r)));

/** An analyst's decision on a flagged cluster. */
export const DecisionSchema = Type.Union([
  Type.Object(
    {
      action: Type.Literal('confirm'),
      msisdns: Type.Optional(Type.Array(MsisdnSchema, { maxItems: 1000 })),
      source: Type.Optional(SourceSchema),
      note: Type.Optional(Type.String({ maxLength: 2000 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      action: Type.Literal('dismiss'),
      reason: Type.Union(['different_people', 'legitimate_use', 'bad_photo'].map((r) => Type.Literal(r))),
      msisdns: Type.Optional(Type.Array(MsisdnSchema, { maxItems: 1000 })),
      note: Type.Optional(Type.String({ maxLength: 2000 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      action: Type.Literal('keep'),
      keep: Type.Array(MsisdnSchema, { minItems: 1, maxItems: 1000 }),
      source: Type.Optional(SourceSchema),
      note: Type.Optional(Type.String({ maxLength: 2000 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      action: Type.Literal('split'),
      faceIds: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { action: Type.Literal('merge'), otherClusterId: Type.Integer({ minimum: 1 }) },
    { additionalProperties: false },
  ),
]);
