import type { ClusterRules } from '../../src/services/clustering/face-clusterer.js';
import { DEFAULT_IDENTITY_POLICY, type IdentityPolicy } from '../../src/services/rules/identity-graph.js';

/** face_recognition's calibrated rules (threshold 0.5, average linkage at 0.9 of it), for clusterer tests. */
export const TEST_CLUSTER_RULES: ClusterRules = {
  metric: 'euclidean',
  pairThreshold: 0.5,
  averageThreshold: 0.45,
  minSupport: 0.5,
  neighbours: 16,
};

/**
 * Face evidence for the synthetic faces of the rules' tests (strangers about 0.85 apart, as face_recognition's
 * descriptor revision 1 on the tune half of faces-dev), with the default decision policy.
 */
export const TEST_IDENTITY_POLICY: IdentityPolicy = {
  ...DEFAULT_IDENTITY_POLICY,
  calibration: {
    strangers: { mean: 0.78785, sd: 0.09311 },
    samePerson: { mean: 0.34954, sd: 0.1038 },
    populationFactor: 1,
    measuredOn: 'test',
  },
};
