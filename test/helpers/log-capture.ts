import { Writable } from 'node:stream';

/** A log destination that keeps every line written to it, to prove what the server did or did not log. */
export function logCapture(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { lines, sink };
}
