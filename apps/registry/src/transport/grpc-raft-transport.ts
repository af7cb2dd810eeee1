// The registry's Raft transport: mesh.raft.v1.RaftTransportService spoken over node:http2 by
// @meshwork/protocol's GrpcHttp2Server and GrpcHttp2Client (the gRPC wire format, so grpc-js peers
// and tools still talk to it; grpc-js itself cost ~0.25 ms of CPU per replicated put, see
// bench/registry/README.md). One outgoing client stream per peer carries batches of messages and is
// reopened with exponential backoff; messages for a peer that is down are dropped (Raft
// retransmits) and reported unreachable; snapshots go as chunked InstallSnapshot calls; followers
// forward writes with Forward.
import { GrpcCallError, GrpcHttp2Client, GrpcHttp2Server, grpcStatusCode, RaftTransportServiceService } from "@meshwork/protocol";
import type { CallOutcome, ClientStreamCall, ClientStreamSink, ForwardRequest, ForwardResponse, InstallSnapshotRequest, InstallSnapshotResponse, StreamRequest, StreamResponse } from "@meshwork/protocol";
import type { Message, NodeId, SnapshotMessage } from "@meshwork/raft";
import { decodeRaftMessage, encodeRaftMessage } from "./raft-message-codec.ts";

/** PEM material for mutual TLS between peers; every peer presents a certificate signed by `ca`. */
export interface TransportTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** What the transport hands to the node it serves. */
export interface TransportHandler {
  /** A message from a peer, with the addresses its sender advertised. */
  onMessage(message: Message, sender: { readonly httpAddress: string; readonly raftAddress: string }): void;
  /** A forwarded write or session renewal; rejects with `ForwardRejection` when not the leader. */
  onForward(request: { readonly command: Uint8Array | null; readonly renewSessionId: string }): Promise<{ readonly index: number; readonly resultJson: string }>;
  /** The transport could not deliver to `peer` (the leader then probes it more gently). */
  onUnreachable(peer: NodeId): void;
  /** Whether a snapshot sent to `peer` arrived. */
  onSnapshotSent(peer: NodeId, outcome: "finished" | "failed"): void;
}

/** The receiver of a forwarded request is not the leader. */
export class ForwardRejection extends Error {
  readonly leaderId: string;
  constructor(leaderId: string) {
    super(leaderId === "" ? "not the leader and no leader known" : `not the leader; the leader is ${leaderId}`);
    this.name = "ForwardRejection";
    this.leaderId = leaderId;
  }
}

/**
 * A Forward call failed. `notLeader`: the peer refused before proposing. `notSent`: no connection
 * could be made, so the request never left (both safe to retry elsewhere); otherwise the outcome is
 * unknown.
 */
export class ForwardError extends Error {
  readonly notLeader: boolean;
  readonly notSent: boolean;
  readonly leaderId: string;
  constructor(message: string, notLeader: boolean, leaderId: string, notSent = false) {
    super(message);
    this.name = "ForwardError";
    this.notLeader = notLeader;
    this.notSent = notSent;
    this.leaderId = leaderId;
  }
}

export interface GrpcRaftTransportOptions {
  readonly selfId: NodeId;
  /** This node's HTTP API address, sent with every batch so followers can name their leader's. */
  readonly httpAddress: string;
  /** This node's advertised Raft address. */
  readonly raftAddress: string;
  readonly tls?: TransportTls | undefined;
  /** Reconnect backoff: first delay and cap (ms). Defaults 50 and 2000. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** Snapshot chunk size in bytes. Default 512 KiB. */
  readonly snapshotChunkBytes?: number;
  /** Messages buffered for a peer whose stream is congested before new ones are dropped. Default 10,000. */
  readonly maxQueuedMessages?: number;
  /** Deadline of a Forward call (ms). Default 10,000. */
  readonly forwardTimeoutMs?: number;
  readonly log?: (level: "debug" | "info" | "warn", msg: string, fields?: Record<string, unknown>) => void;
}

/** Largest message a peer takes: a snapshot chunk or a batch of log entries. */
const maxMessageBytes = 64 * 1024 * 1024;

interface Peer {
  readonly id: NodeId;
  address: string;
  client: GrpcHttp2Client;
  stream: ClientStreamCall<StreamRequest, StreamResponse> | null;
  streamOpenedAt: number;
  backoffMs: number;
  retryTimer: ReturnType<typeof setTimeout> | null;
  /** Encoded messages waiting for the next flush. */
  pending: Uint8Array[];
  /** The stream's buffer is full: wait for "drain". */
  congested: boolean;
}

/** The transport: `start` serves incoming calls; `send` delivers a Ready's messages. */
export class GrpcRaftTransport {
  private readonly options: GrpcRaftTransportOptions;
  private readonly peers = new Map<NodeId, Peer>();
  private server: GrpcHttp2Server | null = null;
  private handler: TransportHandler | null = null;
  private flushScheduled = false;
  private closed = false;
  private httpAddress: string;
  private raftAddress: string;

  constructor(options: GrpcRaftTransportOptions) {
    this.options = options;
    this.httpAddress = options.httpAddress;
    this.raftAddress = options.raftAddress;
  }

  /** Changes the addresses advertised to peers (known only once the listeners are bound). */
  setAdvertised(addresses: { readonly httpAddress?: string; readonly raftAddress?: string }): void {
    if (addresses.httpAddress !== undefined) this.httpAddress = addresses.httpAddress;
    if (addresses.raftAddress !== undefined) this.raftAddress = addresses.raftAddress;
  }

  private log(level: "debug" | "info" | "warn", msg: string, fields?: Record<string, unknown>): void {
    this.options.log?.(level, msg, fields);
  }

  /** Serves RaftTransportService on `host:port` (0 picks a port); resolves with the bound port. */
  async start(host: string, port: number, handler: TransportHandler): Promise<number> {
    this.handler = handler;
    const tls = this.options.tls;
    const server = new GrpcHttp2Server({
      tls: tls === undefined ? undefined : { ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true },
      maxMessageBytes,
      onError: (error, path) => this.log("warn", "raft transport call failed", { path, err: error }),
    });
    server.addClientStream(RaftTransportServiceService.stream, () => this.batchSink(handler));
    server.addClientStream(RaftTransportServiceService.installSnapshot, () => this.snapshotSink(handler));
    server.addUnary(RaftTransportServiceService.forward, (request) => this.answerForward(handler, request));
    const bound = await server.listen(host, port);
    this.server = server;
    return bound;
  }

  /** An incoming Stream call: each batch's messages go to the node as they arrive. */
  private batchSink(handler: TransportHandler): ClientStreamSink<StreamRequest, StreamResponse> {
    const selfId = this.options.selfId;
    let batches = 0;
    return {
      message: (request) => {
        batches++;
        if (request.toId !== selfId) {
          this.log("warn", "raft batch for another node dropped", { to: request.toId, from: request.fromId });
          return;
        }
        const sender = { httpAddress: request.httpAddress, raftAddress: request.raftAddress };
        for (const bytes of request.messages) {
          let message: Message;
          try {
            message = decodeRaftMessage(bytes);
          } catch (error) {
            this.log("warn", "undecodable raft message dropped", { from: request.fromId, err: error });
            continue;
          }
          if (message.to !== selfId) continue;
          handler.onMessage(message, sender);
        }
      },
      end: async () => ({ ok: true, response: { batches } }),
      abort: () => undefined,
    };
  }

  /** An incoming InstallSnapshot call: chunks are gathered, the whole message stepped at the end. */
  private snapshotSink(handler: TransportHandler): ClientStreamSink<InstallSnapshotRequest, InstallSnapshotResponse> {
    const selfId = this.options.selfId;
    let header: Uint8Array | null = null;
    let httpAddress = "";
    let chunks: Buffer[] = [];
    let bytes = 0;
    const invalid = (details: string): CallOutcome<InstallSnapshotResponse> => ({ ok: false, failure: { code: grpcStatusCode.INVALID_ARGUMENT, details: `InstallSnapshot: ${details}` } });
    return {
      message: (request) => {
        if (request.header.length > 0) {
          header = request.header;
          httpAddress = request.httpAddress;
        }
        chunks.push(request.data);
        bytes += request.data.length;
      },
      end: async () => {
        if (header === null) return invalid("the first chunk must carry the message header");
        let message: Message;
        try {
          message = decodeRaftMessage(header);
        } catch (error) {
          return invalid(error instanceof Error ? error.message : String(error));
        }
        if (message.type !== "snap" || message.to !== selfId) return invalid(`expected a snap message to ${selfId}`);
        const data = Buffer.concat(chunks);
        chunks = [];
        handler.onMessage({ ...message, snapshot: { metadata: message.snapshot.metadata, data } }, { httpAddress, raftAddress: "" });
        return { ok: true, response: { bytes } };
      },
      abort: () => {
        chunks = [];
      },
    };
  }

  private async answerForward(handler: TransportHandler, request: ForwardRequest): Promise<CallOutcome<ForwardResponse>> {
    try {
      const result = await handler.onForward({ command: request.command.length > 0 ? request.command : null, renewSessionId: request.renewSessionId });
      return { ok: true, response: { index: result.index, resultJson: result.resultJson } };
    } catch (error) {
      if (error instanceof ForwardRejection) return { ok: false, failure: { code: grpcStatusCode.FAILED_PRECONDITION, details: error.message, metadata: { "x-raft-leader": error.leaderId } } };
      return { ok: false, failure: { code: grpcStatusCode.INTERNAL, details: error instanceof Error ? error.message : String(error) } };
    }
  }

  /** Adds or re-addresses a peer (`host:port` of its Raft port). */
  setPeer(id: NodeId, address: string): void {
    if (id === this.options.selfId || this.closed) return;
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      if (existing.address === address) return;
      this.removePeer(id);
    }
    const tls = this.options.tls;
    const client = new GrpcHttp2Client({ address, tls: tls === undefined ? undefined : { ca: tls.ca, cert: tls.cert, key: tls.key }, maxMessageBytes });
    this.peers.set(id, {
      id,
      address,
      client,
      stream: null,
      streamOpenedAt: 0,
      backoffMs: 0,
      retryTimer: null,
      pending: [],
      congested: false,
    });
  }

  /** Forgets a peer and closes its connection. */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    if (peer.retryTimer !== null) clearTimeout(peer.retryTimer);
    peer.stream?.end();
    peer.client.close();
  }

  /** The Raft address of a known peer. */
  peerAddress(id: NodeId): string | undefined {
    return this.peers.get(id)?.address;
  }

  /** Queues a Ready's messages; each peer's are sent as one batch after the current turn. */
  send(messages: readonly Message[]): void {
    for (const message of messages) {
      const peer = this.peers.get(message.to);
      if (peer === undefined) {
        this.log("debug", "message for a peer without address dropped", { to: message.to, type: message.type });
        this.handler?.onUnreachable(message.to);
        continue;
      }
      if (message.type === "snap") {
        this.sendSnapshot(peer, message);
        continue;
      }
      if (peer.pending.length >= (this.options.maxQueuedMessages ?? 10_000)) {
        this.handler?.onUnreachable(peer.id);
        continue;
      }
      peer.pending.push(encodeRaftMessage(message));
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        for (const peer of this.peers.values()) this.flush(peer);
      });
    }
  }

  private flush(peer: Peer): void {
    if (peer.pending.length === 0 || peer.congested || this.closed) return;
    if (peer.stream === null) {
      if (peer.retryTimer !== null) {
        // Down and backing off: drop, Raft retransmits once the peer answers again.
        peer.pending = [];
        this.handler?.onUnreachable(peer.id);
        return;
      }
      this.openStream(peer);
    }
    const stream = peer.stream as ClientStreamCall<StreamRequest, StreamResponse>;
    const batch: StreamRequest = {
      fromId: this.options.selfId,
      toId: peer.id,
      httpAddress: this.httpAddress,
      raftAddress: this.raftAddress,
      messages: peer.pending.map(asBuffer),
    };
    peer.pending = [];
    if (!stream.write(batch)) {
      peer.congested = true;
      stream.onDrain(() => {
        if (peer.stream !== stream) return;
        peer.congested = false;
        this.flush(peer);
      });
    }
  }

  private openStream(peer: Peer): void {
    const stream = peer.client.clientStream(RaftTransportServiceService.stream);
    const ended = (error: GrpcCallError | null): void => {
      if (peer.stream !== stream) return;
      peer.stream = null;
      peer.congested = false;
      if (this.closed || this.peers.get(peer.id) !== peer || error === null) return;
      // A stream that stayed up for a while resets the backoff; one that failed at once doubles it.
      const initial = this.options.backoffInitialMs ?? 50;
      const lived = Date.now() - peer.streamOpenedAt;
      peer.backoffMs = lived > 1000 || peer.backoffMs === 0 ? initial : Math.min(peer.backoffMs * 2, this.options.backoffMaxMs ?? 2000);
      this.log("debug", "raft stream to peer failed; backing off", { peer: peer.id, address: peer.address, backoffMs: peer.backoffMs, code: error.code, details: error.details });
      this.handler?.onUnreachable(peer.id);
      peer.retryTimer = setTimeout(() => {
        peer.retryTimer = null;
        this.flush(peer);
      }, peer.backoffMs);
      peer.retryTimer.unref();
    };
    stream.result.then(
      () => ended(null),
      (error: unknown) => ended(asCallError(error)),
    );
    peer.stream = stream;
    peer.streamOpenedAt = Date.now();
  }

  private sendSnapshot(peer: Peer, message: SnapshotMessage): void {
    const chunkBytes = this.options.snapshotChunkBytes ?? 512 * 1024;
    const data = message.snapshot.data;
    const header = encodeRaftMessage({ ...message, snapshot: { metadata: message.snapshot.metadata, data: new Uint8Array(0) } });
    const call = peer.client.clientStream(RaftTransportServiceService.installSnapshot);
    call.result.then(
      () => {
        this.log("info", "snapshot sent", { peer: peer.id, index: message.snapshot.metadata.index, bytes: data.byteLength });
        this.handler?.onSnapshotSent(peer.id, "finished");
      },
      (error: unknown) => {
        const failure = asCallError(error);
        this.log("warn", "snapshot send failed", { peer: peer.id, index: message.snapshot.metadata.index, code: failure.code, details: failure.details });
        this.handler?.onSnapshotSent(peer.id, "failed");
      },
    );
    // A chunk at a time as the stream takes them: buffering the whole snapshot would hold its bytes
    // twice and, past the connection's memory limit, get this peer's other calls refused.
    let offset = 0;
    const writeChunks = (): void => {
      do {
        const end = Math.min(offset + chunkBytes, data.byteLength);
        const more = call.write({ header: offset === 0 ? asBuffer(header) : Buffer.alloc(0), data: asBuffer(data.subarray(offset, end)), httpAddress: offset === 0 ? this.httpAddress : "" });
        offset = end;
        if (!more && offset < data.byteLength) {
          call.onDrain(writeChunks);
          return;
        }
      } while (offset < data.byteLength);
      call.end();
    };
    writeChunks();
  }

  /** Sends a forwarded write or renewal to `leader`; rejects with ForwardError. */
  async forward(leader: NodeId, request: { readonly command?: Uint8Array; readonly renewSessionId?: string }): Promise<ForwardResponse> {
    const peer = this.peers.get(leader);
    if (peer === undefined) throw new ForwardError(`no address for leader ${leader}`, false, "", true);
    const message: ForwardRequest = { command: request.command === undefined ? Buffer.alloc(0) : asBuffer(request.command), renewSessionId: request.renewSessionId ?? "" };
    try {
      return await peer.client.unary(RaftTransportServiceService.forward, message, { deadlineMs: this.options.forwardTimeoutMs ?? 10_000 });
    } catch (error) {
      const failure = asCallError(error);
      const notLeader = failure.code === grpcStatusCode.FAILED_PRECONDITION;
      const leader = failure.metadata["x-raft-leader"];
      const leaderId = notLeader && typeof leader === "string" ? leader : "";
      throw new ForwardError(`forward to ${peer.id} at ${peer.address} failed: ${failure.details}`, notLeader, leaderId, failure.notSent);
    }
  }

  /**
   * Stops serving and closes every peer connection. Incoming streams are cut rather than drained:
   * they never end on their own, and Raft does not need what was in flight.
   */
  async close(): Promise<void> {
    this.forceClose();
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Closes at once: open calls are cut (a crash, for tests). */
  forceClose(): void {
    this.closed = true;
    for (const id of [...this.peers.keys()]) this.removePeer(id);
    this.server?.destroy();
    this.server = null;
  }
}

/** A client call's failure as a GrpcCallError (the client rejects with nothing else). */
function asCallError(error: unknown): GrpcCallError {
  return error instanceof GrpcCallError ? error : new GrpcCallError(grpcStatusCode.UNKNOWN, error instanceof Error ? error.message : String(error));
}

/** The bytes as a Buffer without copying (ts-proto's bytes fields are Buffers). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
