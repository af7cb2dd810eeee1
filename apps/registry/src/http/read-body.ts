// A request body read whole, up to a limit: the registry's Consul API and the client agent's.
import type { IncomingMessage } from "node:http";

/** The body passed `readBody`'s limit (the caller answers 413). */
export class BodyTooLargeError extends Error {}

/** Resolves with the body; rejects with BodyTooLargeError past `limit` bytes (the rest is drained). */
export function readBody(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError());
        request.removeAllListeners("data");
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    // One chunk (a small body) is the body: no copy.
    request.once("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    request.once("error", reject);
  });
}
