// A socket's own read buffer, reused from read to read (upstream and downstream connections of
// the HTTP/1.1 path): Node otherwise allocates a new ArrayBuffer for every read (64 KiB on a plain
// socket; on a TLS socket one of the record's size). The bytes of a read are valid only during its callback: whoever keeps them after it
// copies them, or marks the buffer `kept` so the next read goes into a fresh one.
import type { Socket } from "node:net";
import { isTlsSocket } from "../lazy-builtins.ts";

/** Size of a plain-text upstream connection's read buffer (Node's own read size). */
export const readBufferSize = 64 * 1024;

/**
 * Size of a TLS connection's or a client connection's buffer: a TLS record carries at most 16 KiB
 * (TLSWrap reads one record at a time), and a client connection's buffer lives as long as the
 * connection, idle or not.
 */
export const smallReadBufferSize = 16 * 1024;

export class ReadBuffer {
  buffer: Buffer | undefined;
  /** The bytes of the last read are still referred to (a queued write): the next read gets a fresh buffer. */
  kept = false;
  /** Where the bytes of each read go; undefined = dropped (the connection is closed). */
  sink: ((data: Buffer) => boolean | void) | undefined;
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  /** Node asks for the buffer of the next read when the socket opens and after every read. */
  readonly next = (): Buffer => {
    if (this.buffer === undefined || this.kept) {
      this.kept = false;
      this.buffer = Buffer.allocUnsafeSlow(this.size);
    }
    return this.buffer;
  };

  /** The bytes of a read, in the buffer `next` gave; false = stop reading (as a full stream buffer does). */
  readonly read = (length: number): boolean => this.sink?.((this.buffer as Buffer).subarray(0, length)) !== false;

  /** The `onread` option of `net.connect` / `tls.connect`. */
  get onread(): { buffer: () => Buffer; callback: (length: number) => boolean } {
    return { buffer: this.next, callback: this.read };
  }

  /**
   * Turns the socket back into a stream that emits its own `data` (for whoever takes it over: a
   * tunnel's pipe, node:http2): every read is copied into a Buffer pushed to the socket's stream.
   */
  pushTo(socket: Socket): void {
    this.sink = (data) => socket.push(Buffer.from(data));
  }
}

/**
 * Writes `data` — bytes of the current read of `reads` — to `target` without letting a later read
 * change what it sends. Behind bytes still queued, `target` would hold `data` until they are
 * written: it gets a copy instead. Otherwise it takes the bytes now (a TLS socket encrypts, so
 * copies, them at once), except what the kernel did not accept at once on a plain socket: for that
 * rest the read buffer is kept and the next read goes into a fresh one. Returns `target.write`'s
 * answer (false: wait for its drain).
 */
export function writeRead(target: Socket, data: Buffer, reads: ReadBuffer): boolean {
  if (target.writableLength > 0 || target.connecting) return target.write(Buffer.from(data));
  const accepted = target.write(data);
  if (target.writableLength > 0 && !isTlsSocket(target)) reads.kept = true;
  return accepted;
}

interface UserBufferSymbols {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

let userBufferSymbols: UserBufferSymbols | null | undefined;

/** Node's private symbols behind `onread` (lib/net.js kBuffer, kBufferCb, kBufferGen), found once by description; null when absent. */
function symbolsOf(socket: Socket): UserBufferSymbols | null {
  if (userBufferSymbols !== undefined) return userBufferSymbols;
  const named = new Map<string, symbol>();
  for (const symbol of Object.getOwnPropertySymbols(socket)) if (symbol.description !== undefined) named.set(symbol.description, symbol);
  const buffer = named.get("kBuffer");
  const callback = named.get("kBufferCb");
  const generator = named.get("kBufferGen");
  userBufferSymbols = buffer && callback && generator ? { buffer, callback, generator } : null;
  return userBufferSymbols;
}

/**
 * Makes an accepted socket (a net server's, or a TLS server's TLSSocket) read into `reads`, as
 * `onread` does for sockets we connect: net servers and `new tls.TLSSocket(socket)` take no
 * `onread` (Node 20). This sets what `onread` sets — the handle's `useUserBuffer` (public on every
 * stream handle, TCP and TLSWrap alike) and net's private kBuffer / kBufferCb / kBufferGen, which
 * lib/stream_base_commons.js's onStreamRead reads on every read — found by description. The trade:
 * a dependency on Node internals (there since v12; Deno 2's node:net has the same, checked) for one
 * allocation less per read (a 64 KiB ArrayBuffer on a plain socket, a record-sized one on a TLS one,
 * and their GC: about 9 % of the sidecars' CPU per request, bench/proxy/README.md). Feature-detected: a
 * runtime without them keeps the `data` path (false is returned). Bytes the socket's stream already
 * holds stay there; the caller takes them first (`socket.read()`).
 */
export function readAcceptedInto(socket: Socket, reads: ReadBuffer): boolean {
  const symbols = symbolsOf(socket);
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } | null })._handle;
  if (symbols === null || handle == null || typeof handle.useUserBuffer !== "function") return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (!(symbols.buffer in fields) || fields[symbols.buffer] !== null) return false;
  const first = reads.next();
  (handle.useUserBuffer as (buffer: Uint8Array) => void).call(handle, first);
  fields[symbols.buffer] = first;
  fields[symbols.callback] = (length: number) => reads.read(length);
  fields[symbols.generator] = reads.next;
  return true;
}
