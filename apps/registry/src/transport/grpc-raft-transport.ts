// The registry's Raft transport over grpc-js (mesh.raft.v1.RaftTransportService): one outgoing
// client stream per peer carrying batches of messages, reconnected with exponential backoff;
// messages for a peer that is down are dropped (Raft retransmits) and reported unreachable;
// snapshots go as chunked InstallSnapshot calls; followers forward writes with Forward.
import { credentials, Metadata, Server, ServerCredentials, status } from "@grpc/grpc-js";
import type { ChannelCredentials, ClientWritableStream, sendUnaryData, ServerReadableStream, ServerUnaryCall, ServiceError } from "@grpc/grpc-js";
import { RaftTransportServiceClient, RaftTransportServiceService } from "@meshwork/protocol";
import type { ForwardRequest, ForwardResponse, InstallSnapshotRequest, InstallSnapshotResponse, RaftTransportServiceServer, StreamRequest, StreamResponse } from "@meshwork/protocol";
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

interface Peer {
  readonly id: NodeId;
  address: string;
  client: RaftTransportServiceClient;
  stream: ClientWritableStream<StreamRequest> | null;
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
  private server: Server | null = null;
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

  private clientCredentials(): ChannelCredentials {
    const tls = this.options.tls;
    return tls === undefined ? credentials.createInsecure() : credentials.createSsl(tls.ca, tls.key, tls.cert);
  }

  /** Serves RaftTransportService on `host:port` (0 picks a port); resolves with the bound port. */
  async start(host: string, port: number, handler: TransportHandler): Promise<number> {
    this.handler = handler;
    // Not "grpc.enable_channelz": 0 here: grpc-js 1.14.7 then stops tracking sessions, and
    // forceShutdown leaves open streams alive (peers would keep sending into a closed node).
    const server = new Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
    server.addService(RaftTransportServiceService, this.implementation(handler));
    const tls = this.options.tls;
    const serverCredentials =
      tls === undefined ? ServerCredentials.createInsecure() : ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, serverCredentials, (error, boundPort) => (error ? reject(error) : resolve(boundPort)));
    });
    this.server = server;
    return bound;
  }

  private implementation(handler: TransportHandler): RaftTransportServiceServer {
    const selfId = this.options.selfId;
    return {
      stream: (call: ServerReadableStream<StreamRequest, StreamResponse>, callback: sendUnaryData<StreamResponse>) => {
        let batches = 0;
        let answered = false;
        const answer = (): void => {
          if (answered) return;
          answered = true;
          callback(null, { batches });
        };
        call.on("data", (request: StreamRequest) => {
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
        });
        call.on("end", answer);
        call.on("error", () => {
          answered = true;
        });
      },
      installSnapshot: (call: ServerReadableStream<InstallSnapshotRequest, InstallSnapshotResponse>, callback: sendUnaryData<InstallSnapshotResponse>) => {
        let header: Uint8Array | null = null;
        let httpAddress = "";
        const chunks: Buffer[] = [];
        let bytes = 0;
        let failed = false;
        call.on("data", (request: InstallSnapshotRequest) => {
          if (request.header.length > 0) {
            header = request.header;
            httpAddress = request.httpAddress;
          }
          chunks.push(request.data);
          bytes += request.data.length;
        });
        call.on("error", () => {
          failed = true;
        });
        call.on("end", () => {
          if (failed) return;
          if (header === null) {
            callback({ code: status.INVALID_ARGUMENT, details: "InstallSnapshot: the first chunk must carry the message header" });
            return;
          }
          let message: Message;
          try {
            message = decodeRaftMessage(header);
          } catch (error) {
            callback({ code: status.INVALID_ARGUMENT, details: `InstallSnapshot: ${error instanceof Error ? error.message : String(error)}` });
            return;
          }
          if (message.type !== "snap" || message.to !== selfId) {
            callback({ code: status.INVALID_ARGUMENT, details: `InstallSnapshot: expected a snap message to ${selfId}` });
            return;
          }
          const data = Buffer.concat(chunks);
          handler.onMessage({ ...message, snapshot: { metadata: message.snapshot.metadata, data } }, { httpAddress, raftAddress: "" });
          callback(null, { bytes });
        });
      },
      forward: (call: ServerUnaryCall<ForwardRequest, ForwardResponse>, callback: sendUnaryData<ForwardResponse>) => {
        const request = call.request;
        handler
          .onForward({ command: request.command.length > 0 ? request.command : null, renewSessionId: request.renewSessionId })
          .then(
            (result) => callback(null, result),
            (error: unknown) => {
              if (error instanceof ForwardRejection) {
                const metadata = new Metadata();
                metadata.set("x-raft-leader", error.leaderId);
                callback({ code: status.FAILED_PRECONDITION, details: error.message, metadata });
              } else {
                callback({ code: status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
              }
            },
          );
      },
    };
  }

  /** Adds or re-addresses a peer (`host:port` of its Raft port). */
  setPeer(id: NodeId, address: string): void {
    if (id === this.options.selfId || this.closed) return;
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      if (existing.address === address) return;
      this.removePeer(id);
    }
    const client = new RaftTransportServiceClient(address, this.clientCredentials(), {
      "grpc.enable_channelz": 0,
      "grpc.max_send_message_length": 64 * 1024 * 1024,
      "grpc.initial_reconnect_backoff_ms": this.options.backoffInitialMs ?? 50,
      "grpc.max_reconnect_backoff_ms": this.options.backoffMaxMs ?? 2000,
    });
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
    const stream = peer.stream as ClientWritableStream<StreamRequest>;
    const batch: StreamRequest = {
      fromId: this.options.selfId,
      toId: peer.id,
      httpAddress: this.httpAddress,
      raftAddress: this.raftAddress,
      messages: peer.pending.map((bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
    };
    peer.pending = [];
    if (!stream.write(batch)) {
      peer.congested = true;
      stream.once("drain", () => {
        peer.congested = false;
        this.flush(peer);
      });
    }
  }

  private openStream(peer: Peer): void {
    const stream = peer.client.stream((error: ServiceError | null) => {
      if (peer.stream !== stream) return;
      peer.stream = null;
      peer.congested = false;
      if (this.closed || this.peers.get(peer.id) !== peer) return;
      if (error !== null) {
        // A stream that stayed up for a while resets the backoff; one that failed at once doubles it.
        const initial = this.options.backoffInitialMs ?? 50;
        const lived = Date.now() - peer.streamOpenedAt;
        peer.backoffMs = lived > 1000 || peer.backoffMs === 0 ? initial : Math.min(peer.backoffMs * 2, this.options.backoffMaxMs ?? 2000);
        this.log("debug", "raft stream to peer failed; backing off", { peer: peer.id, address: peer.address, backoffMs: peer.backoffMs, code: error.code });
        this.handler?.onUnreachable(peer.id);
        peer.retryTimer = setTimeout(() => {
          peer.retryTimer = null;
          this.flush(peer);
        }, peer.backoffMs);
        peer.retryTimer.unref();
      }
    });
    stream.on("error", () => {
      // Reported through the callback above.
    });
    peer.stream = stream;
    peer.streamOpenedAt = Date.now();
  }

  private sendSnapshot(peer: Peer, message: SnapshotMessage): void {
    const chunkBytes = this.options.snapshotChunkBytes ?? 512 * 1024;
    const data = message.snapshot.data;
    const header = encodeRaftMessage({ ...message, snapshot: { metadata: message.snapshot.metadata, data: new Uint8Array(0) } });
    const call = peer.client.installSnapshot((error: ServiceError | null) => {
      if (error !== null) this.log("warn", "snapshot send failed", { peer: peer.id, index: message.snapshot.metadata.index, code: error.code, details: error.details });
      else this.log("info", "snapshot sent", { peer: peer.id, index: message.snapshot.metadata.index, bytes: data.byteLength });
      this.handler?.onSnapshotSent(peer.id, error === null ? "finished" : "failed");
    });
    call.on("error", () => {
      // Reported through the callback above.
    });
    let offset = 0;
    do {
      const end = Math.min(offset + chunkBytes, data.byteLength);
      const slice = Buffer.from(data.buffer, data.byteOffset + offset, end - offset);
      call.write({ header: offset === 0 ? Buffer.from(header) : Buffer.alloc(0), data: slice, httpAddress: offset === 0 ? this.httpAddress : "" });
      offset = end;
    } while (offset < data.byteLength);
    call.end();
  }

  /** Sends a forwarded write or renewal to `leader`; rejects with ForwardError. */
  forward(leader: NodeId, request: { readonly command?: Uint8Array; readonly renewSessionId?: string }): Promise<ForwardResponse> {
    const peer = this.peers.get(leader);
    if (peer === undefined) return Promise.reject(new ForwardError(`no address for leader ${leader}`, false, "", true));
    const deadline = new Date(Date.now() + (this.options.forwardTimeoutMs ?? 10_000));
    const message: ForwardRequest = { command: request.command === undefined ? Buffer.alloc(0) : Buffer.from(request.command), renewSessionId: request.renewSessionId ?? "" };
    return new Promise((resolve, reject) => {
      peer.client.forward(message, new Metadata(), { deadline }, (error: ServiceError | null, response: ForwardResponse) => {
        if (error === null) {
          resolve(response);
          return;
        }
        const notLeader = error.code === status.FAILED_PRECONDITION;
        const leaderId = notLeader ? String(error.metadata.get("x-raft-leader")[0] ?? "") : "";
        // grpc-js fails a call it could not start with UNAVAILABLE "No connection established".
        const notSent = error.code === status.UNAVAILABLE && error.details.startsWith("No connection established");
        reject(new ForwardError(`forward to ${leader} at ${peer.address} failed: ${error.details}`, notLeader, leaderId, notSent));
      });
    });
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
    this.server?.forceShutdown();
    this.server = null;
  }
}
