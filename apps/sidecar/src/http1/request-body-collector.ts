// Collects the payload of an HTTP/1.1 request body (Content-Length or chunked, RFC 9112 §6.3, §7.1)
// from its raw bytes as they arrive, up to a limit: what an external authorizer's check carries
// (includeRequestBodyInCheck). It only reads: the connection keeps the raw bytes and forwards them
// unchanged once the request is decided. Pure: bytes in, state out.
import { ChunkedScanner } from "./chunked-scanner.ts";

export class RequestBodyCollector {
  private readonly parts: Buffer[] = [];
  private collected = 0;
  private raw = 0;
  /** Content-Length bytes still to come; unused for a chunked body. */
  private remaining: number;
  private readonly scanner: ChunkedScanner | undefined;
  private readonly stopAtBytes: number;
  private readonly maxRawBytes: number;
  /** The body ended within the bytes fed. */
  complete = false;
  /** Set when the chunked framing is malformed (the connection must be closed). */
  error: string | undefined;

  /**
   * `framing`: the head's Content-Length (-1: none) and whether the body is chunked.
   * `stopAtBytes`: payload bytes after which collecting stops. `maxRawBytes`: raw bytes (chunk
   * framing included) after which it stops too, so framing cannot make the connection hold more.
   */
  constructor(framing: { readonly contentLength: number; readonly chunked: boolean }, stopAtBytes: number, maxRawBytes: number) {
    this.scanner = framing.chunked ? new ChunkedScanner() : undefined;
    this.remaining = framing.chunked ? 0 : Math.max(0, framing.contentLength);
    this.stopAtBytes = stopAtBytes;
    this.maxRawBytes = maxRawBytes;
    if (this.scanner === undefined && this.remaining === 0) this.complete = true;
  }

  /** Whether collecting is over: the body ended, the limits were reached, or the framing is malformed. */
  get done(): boolean {
    return this.complete || this.error !== undefined || this.collected >= this.stopAtBytes || this.raw >= this.maxRawBytes;
  }

  /** The payload collected so far (copied: it never refers to the bytes fed). */
  get body(): Buffer {
    return this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.collected);
  }

  /** Feeds the next raw bytes of the message (the first call: those right after the head); bytes after the body's end are ignored. */
  feed(data: Uint8Array): void {
    if (this.done || data.length === 0) return;
    const scanner = this.scanner;
    if (scanner === undefined) {
      const take = Math.min(this.remaining, data.length);
      this.keep(data, 0, take);
      this.raw += take;
      this.remaining -= take;
      if (this.remaining === 0) this.complete = true;
      return;
    }
    const used = scanner.scan(data, 0, (from, to) => this.keep(data, from, to));
    this.raw += used;
    if (scanner.error !== undefined) this.error = scanner.error;
    else if (scanner.done) this.complete = true;
  }

  private keep(data: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    this.parts.push(Buffer.from(data.subarray(from, to)));
    this.collected += to - from;
  }
}
