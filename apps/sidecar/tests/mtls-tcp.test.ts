// TLS origination for raw TCP (a --tcp-upstream binding, Consul Connect style): the bytes of a
// plain TCP client go to a TLS echo server under DestinationRule tls SIMPLE (verified against
// caCertificates and subjectAltNames); a server with other SANs is refused.
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki } from "./support/mesh-pki.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let root: string;
let pki: TestPki;
let echo: Server;
let sidecar: TestSidecar;
let goodPort = 0;
let badPort = 0;

/** Sends `text` on a fresh TCP connection and resolves with what came back before the close (or after 1 s); `(reset)` when the proxy reset it. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => socket.end(), 1000);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
      if (received.length >= text.length + 5) {
        clearTimeout(timer);
        socket.end();
      }
    });
    let reset = false;
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET") reset = true;
      else reject(error);
    });
    socket.on("close", () => resolve(reset ? `${received}(reset)` : received));
    socket.write(text);
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-tcp-tls-"));
  pki = await createTestPki();
  const server = await pki.issue("data", "postgres");
  echo = createServer({ cert: server.chainPem, key: server.keyPem }, (socket) => {
    socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  const echoPort = (echo.address() as { port: number }).port;
  const ca = join(root, "ca.pem");
  await writeFile(ca, pki.rootPem);
  [goodPort, badPort] = await Promise.all([freePort(), freePort()]);
  const entry = (name: string, sans: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.example.com]
  resolution: STATIC
  ports: [{ number: 5432, name: tcp-postgres, protocol: TCP }]
  endpoints: [{ address: 127.0.0.1, ports: { tcp-postgres: ${echoPort} } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: default }
spec:
  host: ${name}.example.com
  trafficPolicy:
    tls: { mode: SIMPLE, caCertificates: ${ca}, subjectAltNames: [${sans}] }
`;
  const config = join(root, "config");
  await mkdir(config);
  await writeFile(join(config, "mesh.yaml"), [entry("db", "spiffe://cluster.local/ns/data/sa/postgres"), entry("impostor", "spiffe://cluster.local/ns/data/sa/mysql")].join("---\n"));
  sidecar = await startTestSidecar(
    ["--config", config, "--inbound-port=-1", "--tcp-upstream", `db.example.com:5432=127.0.0.1:${goodPort}`, "--tcp-upstream", `impostor.example.com:5432=127.0.0.1:${badPort}`],
    root,
    "tcp",
  );
});

afterAll(async () => {
  await sidecar?.stop();
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
  if (root) await rm(root, { recursive: true, force: true });
});

describe("TLS origination for TCP", () => {
  it("carries the client's bytes over TLS to a server that passes the DestinationRule's checks", async () => {
    expect(await roundTrip(goodPort, "hello")).toBe("echo:hello");
  });

  it("refuses a server whose certificate does not carry the rule's subjectAltNames: the client is reset, the log says why", async () => {
    expect(await roundTrip(badPort, "hello")).toBe("(reset)");
    let entry: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !entry; i++) {
      entry = (await sidecar.accessLog()).find((e) => String(e["upstream_cluster"]).includes("impostor.example.com"));
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    expect(String(entry?.["response_flags"])).toContain("UF");
    expect(String(entry?.["upstream_transport_failure_reason"])).toContain("TLS_error:san_mismatch");
  });
});
