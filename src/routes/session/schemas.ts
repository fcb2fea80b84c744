import { Type } from 'typebox';

export const SessionSchema = Type.Object(
  {
    role: Type.String(),
    operator: Type.Union([Type.String(), Type.Null()]),
    csrfToken: Type.String({ description: 'send it back as x-csrf-token on every state-changing request' }),
    expiresAt: Type.String(),
  },
  { $id: 'Session', additionalProperties: false },
);
