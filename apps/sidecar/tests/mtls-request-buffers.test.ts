// Client read buffers over the mTLS hop (see http1-request-buffers.test.ts): the client sidecar
// reads its plain-text client into a reused buffer and writes to a TLS upstream (which reads its
// answers into one too), the STRICT server sidecar reads the decrypted bytes of its TLS client into
// a reused buffer and writes them to a slow app; a PERMISSIVE sidecar does the same for a
// plain-text client whose first bytes it looked at. Requests cut at awkward places, bodies that
// differ from position to position: a reused byte shows.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, writeCertDir } from "./support/mesh-pki.ts";
import { startTestSidecar, writeStrictApiConfig, type TestSidecar } from "./support/mtls-sidecar.ts";
import { firstDifference } from "./support/patterned-body.ts";
import { pipelinedRequests, requestBytes, responseBodies, seededBody, sendInCuts, startSlowSink, type SlowSink } from "./support/slow-sink.ts";

const host = "api.default.svc.cluster.local";

let root: string;
let sink: SlowSink;
let client: TestSidecar;
let strict: TestSidecar;
let permissive: TestSidecar;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-mtls-buffers-"));
  const pki = await createTestPki();
  sink = await startSlowSink({ firstPauseMs: 3000 });
  const [strictPort, permissivePort] = await Promise.all([freePort(), freePort()]);
  const apiDir = await writeCertDir(join(root, "api-certs"), await pki.issue("default", "api"), pki.rootPem);
  const webDir = await writeCertDir(join(root, "web-certs"), await pki.issue("default", "web"), pki.rootPem);
  const server = async (name: string, mode: string, port: number): Promise<TestSidecar> =>
    startTestSidecar(["--config", await writeStrictApiConfig(join(root, name), port, "default", mode), "--cert-dir", apiDir, "--labels", "app=api", "--app-port", String(sink.port), "--inbound-port", String(port)], root, name);
  [strict, permissive] = await Promise.all([server("strict", "STRICT", strictPort), server("permissive", "PERMISSIVE", permissivePort)]);
  client = await startTestSidecar(["--config", await writeStrictApiConfig(join(root, "client"), strictPort, "default"), "--cert-dir", webDir, "--labels", "app=web", "--inbound-port=-1"], root, "client");
}, 60_000);

afterAll(async () => {
  for (const sidecar of [client, strict, permissive]) await sidecar?.stop();
  await sink?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("client read buffers over mutual TLS", () => {
  // The first request also opens the client sidecar's TLS connection: body bytes that arrive
  // during its handshake wait for it (they stayed queued for good before this session).
  it("pipelined requests cut across reads cross the mTLS hop byte for byte", async () => {
    const { bytes, bodies, answers } = pipelinedRequests(host);
    const received = await sendInCuts(client.port("outbound"), bytes, [5, 90, 1, 4000, 20_000, 333, 65_536, 7], (text) => responseBodies(text).length >= answers.length);
    expect(responseBodies(received)).toEqual(answers);
    for (const [path, body] of bodies) expect([path, firstDifference(sink.bodies.get(path) ?? Buffer.alloc(0), body)]).toEqual([path, [body.length, -1]]);
  }, 30_000);

  it("a 6 MiB request body crosses the mTLS hop to a slow app byte for byte", async () => {
    const body = seededBody(6 * 1024 * 1024, 11);
    const received = await sendInCuts(client.port("outbound"), requestBytes(host, "/big-mtls", body), [4096], (text) => responseBodies(text).length >= 1, 40_000);
    expect(responseBodies(received)).toEqual([`/big-mtls ${body.length}`]);
    expect(firstDifference(sink.bodies.get("/big-mtls") ?? Buffer.alloc(0), body)).toEqual([body.length, -1]);
  }, 60_000);

  it("PERMISSIVE: pipelined plain-text requests cut across reads reach the app byte for byte", async () => {
    const requests = Buffer.concat([requestBytes(host, "/q1", seededBody(50_000, 21)), requestBytes(host, "/q2"), requestBytes(host, "/q3", seededBody(9000, 23))]);
    const received = await sendInCuts(permissive.port("inbound"), requests, [3, 700, 1, 16_384, 11], (text) => responseBodies(text).length >= 3);
    expect(responseBodies(received)).toEqual(["/q1 50000", "/q2 0", "/q3 9000"]);
    // The first bytes, looked at to tell TLS from plain text, are forwarded once.
    expect(sink.requestLines.filter((line) => line.includes(" /q"))).toEqual(["POST /q1 HTTP/1.1", "GET /q2 HTTP/1.1", "POST /q3 HTTP/1.1"]);
    expect(firstDifference(sink.bodies.get("/q1") ?? Buffer.alloc(0), seededBody(50_000, 21))).toEqual([50_000, -1]);
    expect(firstDifference(sink.bodies.get("/q3") ?? Buffer.alloc(0), seededBody(9000, 23))).toEqual([9000, -1]);
  }, 30_000);
});
