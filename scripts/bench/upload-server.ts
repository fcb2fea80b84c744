/**
 * The API server of the upload bench, run in its own process by `upload.ts` (not a bench itself). Config comes
 * from the environment like the real server's; it reports its URL over IPC and answers memory probes. RSS and
 * the other `process.memoryUsage()` fields are sampled every 50 ms, and the kernel's peak RSS (VmHWM) is
 * read too, so a spike between samples is not missed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import type { ChildMessage, ChildRequest, MemoryReport, MemorySnapshot } from './lib/server-child.js';

const SAMPLE_INTERVAL_MS = 50;

function send(message: ChildMessage): void {
  if (process.connected) process.send?.(message);
}

function snapshot(): MemorySnapshot {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

/** VmHWM from /proc/self/status, in bytes; null where there is no procfs. */
function kernelPeakRss(): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+). */
function resetKernelPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux, or not permitted: the sampled peak still stands
  }
}

class PeakTracker {
  private peak: MemorySnapshot = snapshot();
  private atPeakRss: MemorySnapshot = this.peak;
  private samples = 0;

  sample(): MemorySnapshot {
    const now = snapshot();
    this.samples++;
    if (now.rss > this.atPeakRss.rss) this.atPeakRss = now;
    this.peak = {
      rss: Math.max(this.peak.rss, now.rss),
      heapTotal: Math.max(this.peak.heapTotal, now.heapTotal),
      heapUsed: Math.max(this.peak.heapUsed, now.heapUsed),
      external: Math.max(this.peak.external, now.external),
      arrayBuffers: Math.max(this.peak.arrayBuffers, now.arrayBuffers),
    };
    return now;
  }

  reset(): void {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    resetKernelPeakRss();
    this.peak = snapshot();
    this.atPeakRss = this.peak;
    this.samples = 0;
  }

  report(now: MemorySnapshot): MemoryReport {
    return {
      now,
      peak: { ...this.peak },
      atPeakRss: { ...this.atPeakRss },
      kernelPeakRss: kernelPeakRss(),
      samples: this.samples,
    };
  }
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('upload-server.ts is started by the upload bench (child_process.fork)');
  const config = loadConfig(process.env);
  const logger = createLogger(config, 'simsift-bench');
  let server: RunningServer;
  try {
    server = await startServer(config, logger);
  } catch (error) {
    send({ type: 'failed', message: (error as Error).message });
    process.exit(1);
  }

  const tracker = new PeakTracker();
  tracker.reset();
  const timer = setInterval(() => tracker.sample(), SAMPLE_INTERVAL_MS);

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    clearInterval(timer);
    try {
      await server.close();
    } finally {
      send({ type: 'closed' });
      process.exit(0);
    }
  };

  process.on('message', (message: ChildRequest) => {
    switch (message.type) {
      case 'memory':
        send({ type: 'memory', id: message.id, report: tracker.report(tracker.sample()) });
        break;
      case 'reset-peak':
        tracker.reset();
        send({ type: 'memory', id: message.id, report: tracker.report(tracker.sample()) });
        break;
      case 'shutdown':
        void shutdown();
        break;
    }
  });
  // The parent died or let go: do not outlive it.
  process.on('disconnect', () => void shutdown());

  send({ type: 'ready', url: server.url, pid: process.pid });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: (error as Error).message });
  process.exit(1);
});
