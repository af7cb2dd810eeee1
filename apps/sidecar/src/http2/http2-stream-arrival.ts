// The connection an HTTP/2 request arrived on, as its decision sees it (ArrivalConnection): the
// session's socket, and the stream itself so that an external authorizer asking for the body
// (includeRequestBodyInCheck) can have it read ahead. What was read is kept here for the exchange,
// which sends it upstream first, unchanged, then the rest of the stream.
import type { ServerHttp2Stream } from "node:http2";
import type { RequestHead } from "../http1/parse-request-head.ts";
import type { ArrivalConnection, RequestBodyRead } from "../proxy/socket-address.ts";

/** The body chunks read ahead of the decision, and whether the stream ended with them. */
export interface ReadAhead {
  readonly chunks: readonly Buffer[];
  readonly complete: boolean;
}

const clientGone: RequestBodyRead = Object.freeze({ type: "failed", details: "downstream_remote_disconnect" });

export class Http2StreamArrival implements ArrivalConnection {
  readonly socket: ArrivalConnection["socket"];
  readonly protocol = "HTTP/2";
  private readonly stream: ServerHttp2Stream;
  /** The HEADERS frame carried END_STREAM: there is no body. */
  private readonly endedWithHeaders: boolean;
  /** What readRequestBody read; undefined when nothing was read ahead. */
  readAhead: ReadAhead | undefined;

  constructor(socket: ArrivalConnection["socket"], stream: ServerHttp2Stream, endedWithHeaders: boolean) {
    this.socket = socket;
    this.stream = stream;
    this.endedWithHeaders = endedWithHeaders;
  }

  /** ArrivalConnection: reads DATA until `stopAtBytes` are held or the stream ends, then pauses the stream. */
  readRequestBody(_head: RequestHead, stopAtBytes: number): Promise<RequestBodyRead> | undefined {
    const stream = this.stream;
    if (this.endedWithHeaders) return undefined;
    if (stream.destroyed) return Promise.resolve(clientGone);
    return new Promise((settle) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = (complete: boolean): void => {
        stream.off("data", onData);
        stream.off("end", onEnd);
        stream.off("close", onClose);
        if (!complete) stream.pause();
        this.readAhead = { chunks, complete };
        settle({ type: "body", body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size), complete });
      };
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= stopAtBytes) finish(false);
      };
      const onEnd = (): void => finish(true);
      const onClose = (): void => {
        stream.off("data", onData);
        stream.off("end", onEnd);
        settle(clientGone);
      };
      stream.on("data", onData);
      stream.once("end", onEnd);
      stream.once("close", onClose);
      stream.resume();
    });
  }
}
