/** Runs `task` now and every `intervalMs`, never two at once; the timer does not keep the process alive. */
export function repeat(intervalMs: number, task: () => Promise<void>): { stop(): void } {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await task();
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  void run();
  return { stop: () => clearInterval(timer) };
}
