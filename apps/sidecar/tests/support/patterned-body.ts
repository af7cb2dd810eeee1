// A large response body whose bytes differ from position to position, sent by an upstream in
// small pieces one event-loop turn apart, and read by a slow client: for tests that a proxy
// reusing its read buffers never sends a byte a later read put there (a body of one repeated
// byte would not show it).
import { connect } from "node:net";
import type { ServerResponse } from "node:http";

/** `size` bytes, each (i·7 + i/4096) mod 251: no period that a 4 KiB piece or a 64 KiB read lines up with. */
export function patternedBody(size: number): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 12)) % 251;
  return body;
}

/** Writes `body` with Content-Length in 4 KiB pieces, one per event-loop turn (the proxy reads it in many reads). */
export function sendInPieces(res: ServerResponse, body: Buffer): void {
  res.setHeader("content-length", String(body.length));
  let at = 0;
  const more = (): void => {
    if (at >= body.length) {
      res.end();
      return;
    }
    const piece = body.subarray(at, at + 4096);
    at += piece.length;
    if (res.write(piece)) setImmediate(more);
    else res.once("drain", more);
  };
  more();
}

/**
 * Sends `request` to `port` and reads the response slowly: nothing for `firstPauseMs` (the
 * proxy's writes queue up), then a 1 ms pause after every chunk. Resolves with the response body
 * once `bodyLength` bytes of it arrived (or with what came within 30 s), and the status line.
 */
export async function readSlowly(port: number, request: string, bodyLength: number, firstPauseMs: number): Promise<{ statusLine: string; body: Buffer }> {
  const socket = connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  let length = 0;
  socket.on("error", () => undefined);
  socket.pause();
  socket.on("data", (c: Buffer) => {
    chunks.push(c);
    length += c.length;
    socket.pause();
    setTimeout(() => socket.resume(), 1);
  });
  socket.write(request);
  await new Promise((resolve) => setTimeout(resolve, firstPauseMs));
  socket.resume();
  for (let waited = 0; waited < 30_000 && length < bodyLength; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  const all = Buffer.concat(chunks);
  const headEnd = all.indexOf("\r\n\r\n");
  return { statusLine: all.toString("latin1", 0, Math.max(0, all.indexOf("\r\n"))), body: headEnd < 0 ? Buffer.alloc(0) : all.subarray(headEnd + 4) };
}

/** Where `received` first differs from `expected`, and its length: `[expected.length, -1]` when they are the same. */
export function firstDifference(received: Buffer, expected: Buffer): [number, number] {
  return [received.length, received.findIndex((byte, i) => byte !== expected[i])];
}
