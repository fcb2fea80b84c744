import { OperatorSchema, CreatedKeySchema, ErasureOutcomeSchema } from './admin/schemas.js';
import { AgentSchema } from './agents/schemas.js';
import { BatchSchema, KycRecordSchema, UploadResultSchema } from './batches/schemas.js';
import { BlockCandidateSchema } from './block-candidates/schemas.js';
import { CheckResultSchema } from './checks/schemas.js';
import {
  ClusterCandidateSchema,
  ClusterDetailSchema,
  ClusterListItemSchema,
  ClusterMemberSchema,
} from './clusters/schemas.js';
import { ProblemSchema, RowErrorSchema } from './common.schemas.js';
import { ExportSchema } from './exports/schemas.js';
import { SessionSchema } from './session/schemas.js';

/**
 * The schemas with a name (`$id`): registered once with `app.addSchema`, so the OpenAPI document lists each under
 * `components.schemas` and refers to it wherever a route answers with it, and generated clients get a named type
 * (`components['schemas']['Batch']`). Routes still use the schema objects themselves, so Fastify validates and
 * serialises as before. A named schema used by a route but missing here fails the OpenAPI test.
 */
export const NAMED_SCHEMAS = [
  ProblemSchema,
  RowErrorSchema,
  UploadResultSchema,
  BatchSchema,
  KycRecordSchema,
  CheckResultSchema,
  ClusterListItemSchema,
  ClusterMemberSchema,
  ClusterCandidateSchema,
  ClusterDetailSchema,
  BlockCandidateSchema,
  AgentSchema,
  ExportSchema,
  SessionSchema,
  OperatorSchema,
  CreatedKeySchema,
  ErasureOutcomeSchema,
];
