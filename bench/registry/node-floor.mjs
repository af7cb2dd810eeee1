#!/usr/bin/env node
// bench/registry/node-floor: the least three Node processes can do for one replicated, durable
// put, to read the registry's sequential-put figures against (issue 5). A figure, not a product:
// no Raft (the leader is the first of --peers, for good), no elections, no snapshot, no protobuf.
// Peer messages go as length-prefixed frames on one TCP connection per follower, or, with
// NODE_FLOOR_TRANSPORT=grpc, through grpc-js as the registry sends them (one client-streaming call
// from every node to every peer, a message per write), or with NODE_FLOOR_TRANSPORT=http2 in
// gRPC's wire format on node:http2 without grpc-js. What it keeps is the work and the
// waits every replicated put has: the HTTP request (node:http, as the registry's API), a
// follower forwarding it to the leader, the leader writing the entry to its log file and sending
// it to both followers before its own fdatasync, each follower writing and fdatasync-ing it
// (in the thread pool, as the registry does) and acknowledging, the leader answering once its
// own sync and one follower's acknowledgement are in, and telling a forwarding follower so.
//
// It takes the registry's flags, so compare-etcd.mjs runs it as a baseline cluster beside etcd and
// the registry (same load generator, same pinning, same run):
//   node bench/registry/compare-etcd.mjs --baseline bench/registry/node-floor.mjs --skip put,get,rss,failover
//   ... --node-env "NODE_FLOOR_TRANSPORT=grpc"   (or http2; the registry ignores the variable)
// API: PUT /v1/kv/<key> (body = value) → 200 "true"; GET /v1/status/leader; anything else 404.
import { closeSync, fdatasync, mkdirSync, openSync, writeSync } from "node:fs";
import { createServer } from "node:http";
import { connect, createServer as createTcpServer } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: o } = parseArgs({
  options: {
    "node-id": { type: "string" },
    peers: { type: "string" },
    "data-dir": { type: "string" },
    "raft-port": { type: "string" },
    "http-port": { type: "string" },
    "log-level": { type: "string" },
    help: { type: "boolean" },
  },
});
if (o.help) {
  console.log("usage: node-floor.mjs --node-id ID --peers ID=HOST:PORT,... --data-dir DIR --raft-port N --http-port N");
  process.exit(0);
}
const peers = o.peers.split(",").map((p) => { const [id, addr] = p.split("="); const [host, port] = addr.split(":"); return { id, host, port: Number(port) }; });
const leaderId = peers[0].id;
const isLeader = o["node-id"] === leaderId;
const httpPort = Number(o["http-port"]);
mkdirSync(o["data-dir"], { recursive: true });
const wal = openSync(join(o["data-dir"], "log"), "a");

// Frames: u32 length of what follows, u8 type, u8 sender (its place in --peers), u32 index,
// u32 request id, payload.
const HELLO = 0, PROP = 1, APP = 2, ACK = 3, COMMIT = 4;
const self = peers.findIndex((p) => p.id === o["node-id"]);
const frame = (type, index, requestId, payload = Buffer.alloc(0)) => {
  const head = Buffer.allocUnsafe(14);
  head.writeUInt32BE(10 + payload.length, 0);
  head.writeUInt8(type, 4);
  head.writeUInt8(self, 5);
  head.writeUInt32BE(index, 6);
  head.writeUInt32BE(requestId, 10);
  return payload.length ? Buffer.concat([head, payload]) : head;
};
/**
 * A reader of one connection's bytes: calls `onRecord` with each whole record as it completes. A
 * record is a u32 length at `lengthAt` (the bytes after the prefix of `lengthAt + 4`) and those bytes.
 */
const lengthPrefixed = (lengthAt, onRecord) => {
  const prefix = lengthAt + 4;
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= prefix && pending.length >= prefix + pending.readUInt32BE(lengthAt)) {
      const end = prefix + pending.readUInt32BE(lengthAt);
      onRecord(pending.subarray(0, end));
      pending = pending.subarray(end);
    }
  };
};
/** A reader of one connection's frames (frames may arrive split or several to a read). */
const frameReader = (onFrame) => lengthPrefixed(0, (f) => onFrame(f.readUInt8(4), f.readUInt8(5), f.readUInt32BE(6), f.readUInt32BE(10), f.subarray(14)));
/** Unwraps gRPC's length-prefixed messages (1 byte "compressed", u32 length) and passes each one's bytes on. */
const grpcMessages = (onMessage) => lengthPrefixed(1, (m) => onMessage(m.subarray(5)));

/** For errors a floor does not act on: a call's end, a socket's error before its close. */
const ignore = () => undefined;

/** Resolves once `peer` accepts TCP connections. */
const listening = (peer) =>
  new Promise((resolveListening) => {
    const attempt = () => {
      const socket = connect(peer.port, peer.host, () => { socket.destroy(); resolveListening(); });
      socket.on("error", () => setTimeout(attempt, 50));
    };
    attempt();
  });

/** Peer links: `send(peer, frame)`; every frame from a peer goes to `onFrame`. */
async function links(onFrame) {
  if (process.env.NODE_FLOOR_TRANSPORT === "grpc") {
    const grpc = await import("@grpc/grpc-js");
    const same = (b) => b;
    const service = { stream: { path: "/mesh.floor.v1.Floor/Stream", requestStream: true, responseStream: false, requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same } };
    const server = new grpc.Server();
    server.addService(service, { stream: (call, done) => { call.on("data", frameReader(onFrame)); call.on("end", () => done(null, Buffer.alloc(0))); } });
    await new Promise((res, rej) => server.bindAsync(`127.0.0.1:${o["raft-port"]}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    const Client = grpc.makeGenericClientConstructor(service, "Floor");
    // Calls start once every peer listens (grpc-js backs off for a second after a refused connect).
    for (const p of peers) await listening(p);
    const calls = peers.map((p, i) => (i === self ? null : new Client(`${p.host}:${p.port}`, grpc.credentials.createInsecure()).stream(ignore)));
    return (peer, f) => calls[peer].write(f);
  }
  if (process.env.NODE_FLOOR_TRANSPORT === "http2") {
    // gRPC's wire format without grpc-js: one HTTP/2 stream from every node to every peer, each
    // frame of ours one length-prefixed gRPC message (1 byte "not compressed", u32 length).
    const http2 = await import("node:http2");
    const server = http2.createServer();
    server.on("connection", (socket) => socket.setNoDelay(true));
    server.on("stream", (stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.on("data", grpcMessages(frameReader(onFrame)));
    });
    await new Promise((res) => server.listen(Number(o["raft-port"]), "127.0.0.1", res));
    for (const p of peers) await listening(p);
    const streams = peers.map((p, i) => {
      if (i === self) return null;
      const session = http2.connect(`http://${p.host}:${p.port}`, { createConnection: () => connect({ port: p.port, host: p.host, noDelay: true }) });
      return session.request({ ":method": "POST", ":path": "/mesh.floor.v1.Floor/Stream", "content-type": "application/grpc", te: "trailers" });
    });
    return (peer, f) => {
      const prefix = Buffer.allocUnsafe(5);
      prefix.writeUInt8(0, 0);
      prefix.writeUInt32BE(f.length, 1);
      streams[peer].write(Buffer.concat([prefix, f]));
    };
  }
  const sockets = [];
  const wire = (socket) => {
    socket.setNoDelay(true);
    socket.on("data", frameReader(onFrame));
    socket.on("error", ignore); // the follower redials on close
  };
  if (self === 0) {
    createTcpServer((socket) => {
      wire(socket);
      socket.once("data", (chunk) => { sockets[chunk.readUInt8(5)] = socket; });
    }).listen(Number(o["raft-port"]), "127.0.0.1");
  } else {
    const dial = () => {
      const socket = connect(peers[0].port, peers[0].host, () => socket.write(frame(HELLO, 0, 0)));
      wire(socket);
      socket.on("close", () => setTimeout(dial, 100));
      sockets[0] = socket;
    };
    dial();
  }
  return (peer, f) => sockets[peer]?.write(f);
}

// The log: written at once, fdatasync-ed in the thread pool, one sync at a time (what arrives
// meanwhile shares the next one: group commit).
let lastIndex = 0;
let syncedIndex = 0;
let syncing = false;
const onSynced = [];
const append = (record) => {
  writeSync(wal, record);
  lastIndex++;
  if (!syncing) startSync();
  return lastIndex;
};
function startSync() {
  syncing = true;
  const upTo = lastIndex;
  fdatasync(wal, (error) => {
    if (error) throw error;
    syncing = false;
    syncedIndex = upTo;
    for (const f of onSynced) f();
    if (lastIndex > syncedIndex) startSync();
  });
}

const store = new Map();
const answer = (res) => { res.writeHead(200, { "content-type": "application/json", "content-length": 4 }); res.end("true"); };
const entry = (key, value) => Buffer.concat([Buffer.from(`${key}\n`), value]);
const apply = (record) => { const nl = record.indexOf(10); store.set(record.subarray(0, nl).toString(), Buffer.from(record.subarray(nl + 1))); };

let server;
if (isLeader) {
  const acked = peers.map(() => 0); // highest index each follower has on disk
  const waiting = []; // { index, record, res | { from, requestId } } in index order
  const tryCommit = () => {
    const quorumIndex = Math.min(syncedIndex, Math.max(...acked.slice(1)));
    while (waiting.length && waiting[0].index <= quorumIndex) {
      const w = waiting.shift();
      apply(w.record);
      if (w.res) answer(w.res);
      else send(w.from, frame(COMMIT, w.index, w.requestId));
    }
  };
  onSynced.push(tryCommit);
  const propose = (record, origin) => {
    const index = append(record);
    for (let i = 1; i < peers.length; i++) send(i, frame(APP, index, 0, record));
    waiting.push({ index, record, ...origin });
  };
  const send = await links((type, from, index, requestId, payload) => {
    if (type === ACK) {
      acked[from] = Math.max(acked[from], index);
      tryCommit();
    } else if (type === PROP) propose(Buffer.from(payload), { from, requestId });
  });
  server = createServer((req, res) => handle(req, res, (key, value) => propose(entry(key, value), { res })));
} else {
  const forwarded = new Map(); // request id → res
  let nextRequest = 1;
  const send = await links((type, _from, _index, requestId, payload) => {
    if (type === APP) {
      apply(payload);
      append(payload);
    } else if (type === COMMIT) {
      const res = forwarded.get(requestId);
      forwarded.delete(requestId);
      if (res) answer(res);
    }
  });
  onSynced.push(() => send(0, frame(ACK, syncedIndex, 0)));
  server = createServer((req, res) => handle(req, res, (key, value) => {
    const requestId = nextRequest++;
    forwarded.set(requestId, res);
    send(0, frame(PROP, 0, requestId, entry(key, value)));
  }));
}

/** PUT /v1/kv/<key> → `put(key, value)`; the leader's address; 404 for the rest. */
function handle(req, res, put) {
  if (req.method === "GET" && req.url === "/v1/status/leader") {
    const text = JSON.stringify(`127.0.0.1:${isLeader ? httpPort : "?"}`);
    res.writeHead(200, { "content-type": "application/json" }).end(text);
    return;
  }
  if (req.method !== "PUT" || !req.url.startsWith("/v1/kv/")) {
    res.writeHead(404).end();
    req.resume();
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => put(req.url.slice(7).split("?")[0], Buffer.concat(chunks)));
}
server.keepAliveTimeout = 60_000;
server.listen(httpPort, "127.0.0.1");
process.on("SIGTERM", () => { closeSync(wal); process.exit(0); });
