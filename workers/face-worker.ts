/**
 * Entry point of one face worker process (forked by `simsift worker --processes N`, or run directly).
 */
import { runFaceWorker } from './face-worker-runtime.js';
import { runWorkerProcess } from './worker-process.js';

// A job this process still holds past its lock goes to another worker.
await runWorkerProcess('simsift-face-worker', runFaceWorker, (config) => config.faces.jobLockMs);
