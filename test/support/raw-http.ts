/**
 * Raw TCP clients for the local ports' robustness tests: what no well-behaved HTTP client sends (garbage, a
 * truncated body, bytes trickled one at a time, a client that resets the connection). A request is answered when
 * the server closes the connection: send `Connection: close`, or expect no answer (`answered` is then '').
 */
import { connect } from 'node:net';

export interface RawOptions {
  /** Written one after the other, `delayMs` apart (a trickling client). */
  delayMs?: number;
  /** After writing: wait for the server to close (default), half-close ('end'), or reset the connection ('destroy'). */
  then?: 'wait' | 'end' | 'destroy';
  /** Give up waiting (and close) after this long; default 3 s. */
  timeoutMs?: number;
}

export function raw(port: number, parts: string | Buffer | (string | Buffer)[], options: RawOptions = {}): Promise<string> {
  const chunks = Array.isArray(parts) ? parts : [parts];
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => socket.destroy(), options.timeoutMs ?? 3000);
    socket.on('data', (d) => received.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received).toString('latin1'));
    });
    socket.on('connect', async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0 && options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        if (socket.destroyed) return;
        socket.write(chunk);
      }
      if (options.then === 'end') socket.end();
      if (options.then === 'destroy') socket.resetAndDestroy();
    });
  });
}

/** The status code of a raw answer (0: none). */
export function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}

/** The body of a raw answer (Content-Length or chunked). */
export function bodyOf(answer: string): string {
  const [head, ...rest] = answer.split('\r\n\r\n');
  const body = rest.join('\r\n\r\n');
  if (!/transfer-encoding: chunked/i.test(head)) return body;
  let out = '';
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, eol), 16);
    if (!size) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
