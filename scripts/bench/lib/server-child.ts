import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** `process.memoryUsage()` in bytes. */
export interface MemorySnapshot {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface MemoryReport {
  /** Now (after a forced GC when the request was `reset-peak`). */
  now: MemorySnapshot;
  /** The highest value of each field since the last reset, each field on its own. */
  peak: MemorySnapshot;
  /** The whole snapshot taken when RSS peaked: shows whether the V8 heap or off-heap buffers held it. */
  atPeakRss: MemorySnapshot;
  /** The kernel's peak RSS (VmHWM) since the last reset, null off Linux. Catches spikes between samples. */
  kernelPeakRss: number | null;
  samples: number;
}

/** Parent → child. */
export type ChildRequest = { id: number; type: 'memory' } | { id: number; type: 'reset-peak' } | { type: 'shutdown' };

/** Child → parent. */
export type ChildMessage =
  | { type: 'ready'; url: string; pid: number }
  | { type: 'failed'; message: string }
  | { type: 'memory'; id: number; report: MemoryReport }
  | { type: 'closed' };

export interface ServerChild {
  url: string;
  pid: number;
  /** Memory since the last reset (peaks are sampled every few ms in the child). */
  memory(): Promise<MemoryReport>;
  /** Forces a GC (when exposed), restarts peak tracking at the current usage and returns it. */
  resetPeak(): Promise<MemoryReport>;
  /** Closes the server gracefully; kills it when it does not exit in time. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Runs a bench server entry (e.g. `upload-server.ts`) in its own Node process through tsx, so its memory is
 * measured alone. Its stdout and stderr go to the parent's stderr: stdout is reserved for the result JSON.
 */
export async function startServerChild(
  entry: string,
  env: Record<string, string>,
  options: { readyTimeoutMs?: number; execArgv?: string[] } = {},
): Promise<ServerChild> {
  const child = fork(entry, [], {
    execArgv: ['--import', import.meta.resolve('tsx'), '--expose-gc', ...(options.execArgv ?? [])],
    env,
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const pending = new Map<number, (report: MemoryReport) => void>();
  let nextId = 1;
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'memory') {
      pending.get(message.id)?.(message.report);
      pending.delete(message.id);
    }
  });

  const ready = await waitForReady(child, exited, options.readyTimeoutMs ?? 60_000);

  const ask = (type: 'memory' | 'reset-peak'): Promise<MemoryReport> =>
    new Promise((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error('the bench server has exited'));
        return;
      }
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ id, type } satisfies ChildRequest, (error) => {
        if (error) {
          pending.delete(id);
          reject(error);
        }
      });
    });

  let stopping: Promise<void> | null = null;
  return {
    url: ready.url,
    pid: ready.pid,
    memory: () => ask('memory'),
    resetPeak: () => ask('reset-peak'),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        if (child.connected) child.send({ type: 'shutdown' } satisfies ChildRequest);
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        try {
          await exited;
        } finally {
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
}

async function waitForReady(
  child: ChildProcess,
  exited: Promise<[number | null, NodeJS.Signals | null]>,
  timeoutMs: number,
): Promise<{ url: string; pid: number }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<{ url: string; pid: number }>((resolve, reject) => {
        child.on('message', (message: ChildMessage) => {
          if (message.type === 'ready') resolve({ url: message.url, pid: message.pid });
          else if (message.type === 'failed') reject(new Error(`bench server failed to start: ${message.message}`));
        });
      }),
      exited.then(([code, signal]) => {
        throw new Error(`bench server exited before it was ready (code ${code}, signal ${signal})`);
      }),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`bench server not ready after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
