import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Kernel clock ticks a second (the unit of CPU times in /proc); 100 on every common Linux build. */
const CLOCK_TICKS = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/** Resident set size (VmRSS) and CPU time (user + system) of one process, from /proc; null once it is gone. */
export async function processStats(pid: number): Promise<{ rss: number; cpuSeconds: number } | null> {
  try {
    const [status, stat] = await Promise.all([
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    const rss = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    // Fields after the command name (which may hold spaces): state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (!rss) return null;
    return { rss: Number(rss[1]) * 1024, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

/**
 * CPU seconds the whole machine spent busy (every state but idle and iowait) since boot, over all cores, and the
 * part of it that was steal: time a virtual CPU was ready to run but the hypervisor ran something else.
 */
export async function machineCpuSeconds(): Promise<{ busy: number; steal: number } | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    // guest time is already counted in user time
    const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return { busy: (total - idle) / CLOCK_TICKS, steal: (ticks[7] ?? 0) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine spent busy since boot, over all cores. */
export async function machineBusySeconds(): Promise<number | null> {
  return (await machineCpuSeconds())?.busy ?? null;
}

/** One process over a run: RSS (bytes) at its first sample, its last and the highest seen, and CPU time used. */
export interface ProcessTrack {
  pid: number;
  start: number;
  end: number;
  max: number;
  cpuStart: number;
  cpuEnd: number;
  samples: number;
}

/** Follows a changing set of processes (a supervisor restarts dead ones under new pids). */
export class ProcessSampler {
  private readonly tracks = new Map<number, ProcessTrack>();

  /** Samples every pid once and returns the RSS of those still alive. */
  async sample(pids: readonly number[]): Promise<Map<number, number>> {
    const now = new Map<number, number>();
    const values = await Promise.all(pids.map((pid) => processStats(pid)));
    pids.forEach((pid, i) => {
      const stats = values[i];
      if (!stats) return;
      now.set(pid, stats.rss);
      const track = this.tracks.get(pid);
      if (!track) {
        this.tracks.set(pid, {
          pid,
          start: stats.rss,
          end: stats.rss,
          max: stats.rss,
          cpuStart: stats.cpuSeconds,
          cpuEnd: stats.cpuSeconds,
          samples: 1,
        });
        return;
      }
      track.end = stats.rss;
      track.max = Math.max(track.max, stats.rss);
      track.cpuEnd = stats.cpuSeconds;
      track.samples++;
    });
    return now;
  }

  /** Tracks in the order their processes were first seen. */
  all(): ProcessTrack[] {
    return [...this.tracks.values()];
  }
}
