import type { Logger } from 'pino';

/**
 * Exits the process with code 1 once `ms` have passed, logging why: called when a graceful stop begins, so a
 * close that hangs cannot keep a stopping process alive. The timer does not itself keep the process alive.
 */
export function exitAfter(ms: number, logger: Pick<Logger, 'warn'>): void {
  setTimeout(() => {
    logger.warn({ afterMs: ms }, 'did not stop in time; exiting');
    process.exit(1);
  }, ms).unref();
}
