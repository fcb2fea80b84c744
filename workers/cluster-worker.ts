/**
 * Entry point of the cluster worker on its own (`simsift worker` runs it beside the face workers in one process):
 * the cluster writer, sweeps and pre-activation checks. Run one per host; a Postgres lock keeps one writing.
 */
import { runClusterWorker } from './cluster-worker-runtime.js';
import { runWorkerProcess } from './worker-process.js';

// Clustering a page of faces takes seconds; the index is saved on the way out.
const STOP_DEADLINE_MS = 60_000;

await runWorkerProcess('simsift-cluster-worker', runClusterWorker, () => STOP_DEADLINE_MS);
