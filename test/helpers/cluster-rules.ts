import type { ClusterRules } from '../../src/services/clustering/face-clusterer.js';

/** face_recognition's calibrated rules (threshold 0.5, average linkage at 0.9 of it), for clusterer tests. */
export const TEST_CLUSTER_RULES: ClusterRules = {
  metric: 'euclidean',
  pairThreshold: 0.5,
  averageThreshold: 0.45,
  minSupport: 0.5,
  neighbours: 16,
};
