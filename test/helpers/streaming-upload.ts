import { randomBytes } from 'node:crypto';

export interface StreamingUpload {
  /** The response, or the network error when the server went away mid-body. */
  response: Promise<Response>;
  /** Sends the next `count` pieces of the body (the manifest is piece 0, then one per photo). */
  send(count: number): void;
  /** Sends whatever is left and ends the body. */
  finish(): void;
  pieces: number;
}

/**
 * A multipart upload whose body the test releases piece by piece, so something can happen to the server or
 * its database while the request is half-sent.
 */
export function streamingUpload(
  url: string,
  headers: Record<string, string>,
  manifest: string,
  photos: Record<string, Buffer>,
): StreamingUpload {
  const boundary = `----simsift${randomBytes(8).toString('hex')}`;
  const part = (name: string, filename: string, bytes: Buffer) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      bytes,
      Buffer.from('\r\n'),
    ]);
  const pieces = [
    part('manifest', 'manifest.csv', Buffer.from(manifest)),
    ...Object.entries(photos).map(([name, bytes]) => part(name, name, bytes)),
  ];
  const closing = Buffer.from(`--${boundary}--\r\n`);
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const response = fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
    duplex: 'half',
  });
  // The caller awaits the response later; a failure before then must not count as unhandled.
  response.catch(() => undefined);
  const send = (count: number) => {
    for (let i = 0; i < count && next < pieces.length; i++) controller.enqueue(new Uint8Array(pieces[next++]!));
  };
  return {
    response,
    send,
    finish() {
      send(pieces.length);
      controller.enqueue(new Uint8Array(closing));
      controller.close();
    },
    pieces: pieces.length,
  };
}
