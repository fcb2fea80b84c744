import { fork, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { PROJECT_ROOT } from '../paths.js';

/** The face worker entry matching how this process runs: TypeScript through tsx, or the built JavaScript. */
export function faceWorkerEntry(): { file: string; execArgv: string[] } {
  const runningTs = fileURLToPath(import.meta.url).endsWith('.ts');
  return runningTs
    ? { file: path.join(PROJECT_ROOT, 'workers', 'face-worker.ts'), execArgv: ['--import', 'tsx'] }
    : { file: path.join(PROJECT_ROOT, 'dist', 'workers', 'face-worker.js'), execArgv: [] };
}

// A face job takes about a second and a worker gives itself its job lock (30 s by default) to stop.
const STOP_KILL_AFTER_MS = 60_000;

export interface Supervisor {
  /** Resolves once every process has loaded its models and is taking jobs. */
  ready: Promise<void>;
  pids(): number[];
  /**
   * SIGTERM to every process (each finishes its current job), then waits for them to exit; one still running a
   * minute later (stuck where even its own deadline cannot fire) gets SIGKILL.
   */
  stop(): Promise<void>;
}

/**
 * Runs `processes` face worker processes and restarts any that dies unexpectedly (a crash or kill -9: BullMQ
 * hands its stalled job to another worker). Environment overrides go to the children only. With `metricsPort`,
 * the worker in slot n (0-based) serves its metrics on `metricsPort + n`, a restarted one on the same port;
 * without, none does, whatever SIMSIFT_WORKER_METRICS_PORT says (every child would try to bind the same port).
 */
export function superviseFaceWorkers(
  processes: number,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
  {
    logsToStderr = false,
    logSink,
    metricsPort = 0,
  }: { logsToStderr?: boolean; logSink?: Writable; metricsPort?: number } = {},
): Supervisor {
  const entry = faceWorkerEntry();
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  const readyWaits: Promise<void>[] = [];

  const start = (slot: number): Promise<void> => {
    // Commands that print results on stdout (demo, bench) send the workers' logs to stderr instead.
    // `logSink` takes both streams instead (the demo searches its logs for personal data).
    const stdio = logSink
      ? (['ignore', 'pipe', 'pipe', 'ipc'] as const)
      : logsToStderr
        ? (['ignore', 2, 2, 'ipc'] as const)
        : (['inherit', 'inherit', 'inherit', 'ipc'] as const);
    const child = fork(entry.file, [], {
      execArgv: entry.execArgv,
      env: { ...env, SIMSIFT_WORKER_METRICS_PORT: String(metricsPort > 0 ? metricsPort + slot : 0) },
      stdio: [...stdio],
    });
    if (logSink) {
      child.stdout?.pipe(logSink, { end: false });
      child.stderr?.pipe(logSink, { end: false });
    }
    children.set(slot, child);
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`face worker ${slot} exited with ${code} before it was ready`)));
    });
    child.on('exit', (code, signal) => {
      if (children.get(slot) !== child) return;
      children.delete(slot);
      if (stopping) return;
      logger.warn({ slot, code, signal }, 'face worker died; restarting');
      setTimeout(() => {
        if (!stopping) void start(slot).catch(() => undefined);
      }, 1_000).unref();
    });
    return ready;
  };
  for (let slot = 0; slot < processes; slot++) readyWaits.push(start(slot));

  return {
    ready: Promise.all(readyWaits).then(() => undefined),
    pids: () => [...children.values()].map((child) => child.pid ?? 0),
    async stop() {
      stopping = true;
      await Promise.all(
        [...children.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const kill = setTimeout(() => child.kill('SIGKILL'), STOP_KILL_AFTER_MS);
              child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
