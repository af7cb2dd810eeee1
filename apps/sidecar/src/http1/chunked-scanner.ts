// Finds where a chunked body ends without decoding it: the proxy forwards chunked bytes as they
// are and only needs to know when the message is over (RFC 9112 §7.1), including trailers. A
// caller that needs the payload (an HTTP/1.1 request sent upstream over HTTP/2) passes `onData`
// and gets the chunks' data ranges as they are scanned.

type State = "size" | "size-ws" | "ext" | "size-lf" | "data" | "data-cr" | "data-lf" | "trailer-start" | "trailer-line" | "trailer-lf" | "final-lf" | "done";

/** Incremental scanner over the bytes of one chunked body. */
export class ChunkedScanner {
  private state: State = "size";
  private remaining = 0;
  private sizeDigits = 0;
  /** Set when the body is malformed; the connection must then be closed. */
  error: string | undefined;

  get done(): boolean {
    return this.state === "done";
  }

  /**
   * Scans `data[start..]`; returns how many bytes belong to this body (all of them unless the
   * body ends inside `data`, when the rest belongs to the next message). Sets `error` on bad input.
   * `onData(from, to)`: called for each range `data[from..to)` of chunk payload, in order.
   */
  scan(data: Uint8Array, start = 0, onData?: (from: number, to: number) => void): number {
    if (this.error !== undefined) return 0;
    let i = start;
    const n = data.length;
    while (i < n && this.state !== "done") {
      switch (this.state) {
        case "data": {
          const take = Math.min(this.remaining, n - i);
          if (onData !== undefined && take > 0) onData(i, i + take);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = "data-cr";
          continue;
        }
        case "size": {
          const c = data[i] as number;
          const digit = hexValue(c);
          if (digit >= 0) {
            if (++this.sizeDigits > 12) return this.fail("chunk size too large", i);
            this.remaining = this.remaining * 16 + digit;
          } else if (this.sizeDigits === 0) {
            return this.fail("missing chunk size", i);
          } else if (c === 59 /* ; */) {
            this.state = "ext";
          } else if (c === 32 || c === 9) {
            this.state = "size-ws";
          } else if (c === 13) {
            this.state = "size-lf";
          } else {
            return this.fail("invalid chunk size", i);
          }
          break;
        }
        case "size-ws": {
          // After the size only whitespace, then an extension or the line end (`5 5` is not a size).
          const c = data[i] as number;
          if (c === 59) this.state = "ext";
          else if (c === 13) this.state = "size-lf";
          else if (c !== 32 && c !== 9) return this.fail("invalid chunk size", i);
          break;
        }
        case "ext":
          if (data[i] === 13) this.state = "size-lf";
          else if (data[i] === 10) return this.fail("bare LF in chunk extension", i);
          break;
        case "size-lf":
          if (data[i] !== 10) return this.fail("expected LF after chunk size", i);
          this.sizeDigits = 0;
          if (this.remaining === 0) {
            this.state = "trailer-start";
          } else {
            this.state = "data";
          }
          break;
        case "data-cr":
          if (data[i] !== 13) return this.fail("expected CR after chunk data", i);
          this.state = "data-lf";
          break;
        case "data-lf":
          if (data[i] !== 10) return this.fail("expected LF after chunk data", i);
          this.state = "size";
          break;
        case "trailer-start":
          if (data[i] === 13) this.state = "final-lf";
          else if (data[i] === 10) return this.fail("bare LF in trailers", i);
          else this.state = "trailer-line";
          break;
        case "trailer-line":
          if (data[i] === 13) this.state = "trailer-lf";
          else if (data[i] === 10) return this.fail("bare LF in trailers", i);
          break;
        case "trailer-lf":
          if (data[i] !== 10) return this.fail("expected LF after trailer", i);
          this.state = "trailer-start";
          break;
        case "final-lf":
          if (data[i] !== 10) return this.fail("expected LF at end of chunked body", i);
          this.state = "done";
          break;
      }
      i++;
    }
    return i - start;
  }

  private fail(message: string, at: number): number {
    this.error = message;
    return at;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
