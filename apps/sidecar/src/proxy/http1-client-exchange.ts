// What the two exchanges of an HTTP/1.1 client request share, whatever the upstream speaks
// (Exchange: HTTP/1.1; http2/upgraded-exchange.ts: HTTP/2): the fault abort and the circuit
// breaker before the first try, local replies written as HTTP/1.1, a reset client when a started
// response cannot be completed, and handing the connection back when the exchange is over.
import type { RequestHead } from "../http1/parse-request-head.ts";
import type { Downstream, DownstreamExchange, ExchangeEnvironment, ExchangeRecord } from "./exchange.ts";
import { ExchangeBase, grpcCode } from "./exchange-base.ts";
import { formatLocalReply, localReplyBodies } from "./local-reply.ts";
import type { ForwardDecision } from "./route-request.ts";
import type { ReadBuffer } from "../upstream/read-buffer.ts";

export abstract class Http1ClientExchange extends ExchangeBase implements DownstreamExchange {
  protected readonly downstream: Downstream;
  /** The response head said `connection: close` (see `responseMustClose`): the connection closes after the response. */
  private closeAfterResponse = false;

  constructor(head: RequestHead, decision: ForwardDecision, env: ExchangeEnvironment, record: ExchangeRecord, bodyChunks: Buffer[], downstream: Downstream) {
    super(head, decision, env, record, head.contentLength <= 0 && !head.chunked, bodyChunks);
    this.downstream = downstream;
  }

  abstract keepHead(): void;
  abstract onRequestBody(data: Buffer, reads?: ReadBuffer): void;
  abstract onRequestEnd(): void;
  abstract onDownstreamClosed(): void;
  abstract onDownstreamDrain(): void;

  protected afterDelay(): void {
    const d = this.decision;
    this.startRouteTimer();
    if (d.abortStatus > 0) {
      const headers = d.abortGrpcStatus !== undefined ? ["content-type: application/grpc", `grpc-status: ${grpcCode(d.abortGrpcStatus)}`, "grpc-message: fault filter abort"] : [];
      this.localReply(d.abortStatus, "FI", d.abortGrpcStatus !== undefined ? "" : localReplyBodies.FI, "fault_filter_abort", headers);
      return;
    }
    if (!this.acquireRequest()) {
      this.localReply(503, "UO", localReplyBodies.UO, "upstream_reset_before_response_started{overflow}", ["x-envoy-overloaded: true"]);
      return;
    }
    this.tryUpstream();
  }

  /** Answers the client ourselves (unless a response already started, then the client is reset). */
  protected localReply(status: number, flag: string, body: string, details: string, headers: readonly string[] = noHeaders): void {
    if (!this.beginLocalReply(flag, details)) return;
    this.record.responseCode = status;
    // A request body not read to its end leaves the connection unusable.
    const close = !this.head.keepAlive || !this.requestComplete;
    const bytes = formatLocalReply(status, body, headers, close, this.head.method === "HEAD");
    this.record.responseBytes += bytes.length;
    this.downstream.write(bytes);
    this.finish(close);
  }

  protected abortResponse(): void {
    this.downstream.abort();
    this.finish(true);
  }

  /**
   * Whether the response head about to go out must say `connection: close`: it goes out before the
   * request is complete, so the connection closes after the response (an unread request body
   * leaves it unusable) and the client must not send another request on it. Envoy marks such a
   * response the same way; a keep-alive client pool would otherwise reuse a closing connection.
   */
  protected responseMustClose(): boolean {
    if (!this.requestComplete) this.closeAfterResponse = true;
    return this.closeAfterResponse;
  }

  /** The exchange is over; `close` = the client connection must close after what was written. */
  protected finish(close: boolean): void {
    if (this.conclude()) this.downstream.exchangeDone(this, close || this.closeAfterResponse || !this.requestComplete);
  }
}

/** A local reply without headers of its own. */
const noHeaders: readonly string[] = [];
