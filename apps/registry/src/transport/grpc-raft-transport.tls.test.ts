// Mutual TLS between peers: certificates made by openssl for the test (a CA, a peer certificate for
// 127.0.0.1 used by both ends, and one from another CA). Peers with certificates from the cluster's
// CA exchange messages; a peer whose certificate another CA signed cannot deliver anything.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LogIndex, Message, NodeId, Term } from "@meshwork/raft";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GrpcRaftTransport } from "./grpc-raft-transport.ts";
import type { TransportHandler, TransportTls } from "./grpc-raft-transport.ts";

const a = "a" as NodeId;
const b = "b" as NodeId;
let dir = "";

function openssl(args: readonly string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** A CA and a certificate for 127.0.0.1 (server and client use) signed by it. */
function material(name: string): TransportTls {
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}-ca.key`, "-out", `${name}-ca.pem`, "-subj", `/CN=${name}-ca`, "-days", "1"]);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  fs.writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${name}-ca.pem`, "-CAkey", `${name}-ca.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "1", "-extfile", "ext.cnf"]);
  const read = (file: string) => fs.readFileSync(path.join(dir, file));
  return { ca: read(`${name}-ca.pem`), cert: read(`${name}.pem`), key: read(`${name}.key`) };
}

let cluster: TransportTls;
let rogue: TransportTls;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-tls-"));
  cluster = material("cluster");
  rogue = material("rogue");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const open: GrpcRaftTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function handler(received: Message[], unreachable: string[]): TransportHandler {
  return {
    onMessage: (message) => received.push(message),
    onForward: () => Promise.reject(new Error("unused")),
    onUnreachable: (peer) => unreachable.push(peer),
    onSnapshotSent: () => undefined,
  };
}

async function waitFor(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const heartbeat: Message = { type: "heartbeat", from: a, to: b, term: 1 as Term, commit: 3 as LogIndex, context: null };

describe("GrpcRaftTransport with TLS", () => {
  it("delivers between peers whose certificates the cluster CA signed, and refuses a stranger's", async () => {
    const received: Message[] = [];
    const receiver = new GrpcRaftTransport({ selfId: b, httpAddress: "", raftAddress: "", tls: cluster });
    open.push(receiver);
    const port = await receiver.start("127.0.0.1", 0, handler(received, []));

    const unreachable: string[] = [];
    const stranger = new GrpcRaftTransport({ selfId: a, httpAddress: "", raftAddress: "", tls: { ...rogue, ca: cluster.ca }, backoffInitialMs: 20, backoffMaxMs: 50 });
    open.push(stranger);
    await stranger.start("127.0.0.1", 0, handler([], unreachable));
    stranger.setPeer(b, `127.0.0.1:${port}`);
    // Several connection attempts, each refused in the handshake: reported, nothing delivered.
    await waitFor("the stranger to be refused three times", () => {
      stranger.send([heartbeat]);
      return unreachable.length >= 3 || received.length > 0;
    });
    expect(received).toEqual([]);

    const member = new GrpcRaftTransport({ selfId: a, httpAddress: "", raftAddress: "", tls: cluster });
    open.push(member);
    await member.start("127.0.0.1", 0, handler([], []));
    member.setPeer(b, `127.0.0.1:${port}`);
    member.send([heartbeat]);
    await waitFor("delivery over TLS", () => received.length === 1);
    expect(received[0]).toEqual(heartbeat);
  });
});
