import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RestartMeasurement, RestartTask } from '../cluster-restart-worker.js';

const RESTART_WORKER = fileURLToPath(new URL('../cluster-restart-worker.ts', import.meta.url));

/** Runs a cluster worker's start from saved files (cluster-restart-worker.ts) in a fresh process; its figures. */
export async function measureRestartInChild(task: RestartTask): Promise<RestartMeasurement> {
  const child = fork(RESTART_WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 2, 2, 'ipc'] });
  try {
    const answer = new Promise<RestartMeasurement>((resolve, reject) => {
      child.once('message', (message) => resolve(message as RestartMeasurement));
      child.once('exit', (code) => reject(new Error(`the restart process exited with ${code}`)));
    });
    child.send(task);
    return await answer;
  } finally {
    if (child.exitCode === null) child.kill();
  }
}
