// DNS proxying for real (Istio's smart DNS proxy): a sidecar process in standalone mode
// (`--config DIR` with ServiceEntries) serving --dns-port on UDP and TCP, queried with the real
// `dig`; unknown names relayed to a fake upstream resolver on a loopback port; and a TCP connection
// to an auto-allocated address reaching the ServiceEntry's endpoint through the outbound
// listener (CONNECT <240.240.x.y>:5432: what the app's connect to the address dig returned
// becomes once iptables capture hands it to the sidecar). Needs `dig` (dnsutils): the test fails,
// saying how to install it, when it is missing.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dig as digAt, requireDig, type DigResult } from "./support/dig.ts";
import { startFakeDnsUpstream, type FakeDnsUpstream } from "./support/fake-dns-upstream.ts";
import { startSidecarProcess, type SidecarProcess } from "./support/sidecar-process.ts";

let dir: string;
let upstream: FakeDnsUpstream;
let sidecar: SidecarProcess;
let echo: Server;
let echoPort = 0;

function dnsPort(): number {
  const port = sidecar.ports["dns"];
  if (port === undefined) throw new Error(`the sidecar reported no dns port: ${JSON.stringify(sidecar.ports)}`);
  return port;
}

/** Asks the sidecar's DNS proxy with dig (`+tcp` in `args` for TCP). */
const dig = (...args: string[]): Promise<DigResult> => digAt(dnsPort(), ...args);

/** Sends `preamble + message` over TCP to the outbound port and returns what came back once `expect` bytes arrived. */
function tcpRoundTrip(port: number, preamble: string, message: string, expect: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error(`no full reply within 10 s; got ${JSON.stringify(received)}`));
    });
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.length >= expect) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.write(preamble + message);
  });
}

const serviceEntries = (echoPort: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  addresses: [10.96.0.10]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http }]
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings, namespace: prod }
spec:
  hosts: [ratings.prod.svc.cluster.local]
  addresses: [10.96.0.11]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http }]
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: default }
spec:
  hosts: [api.external.test]
  addresses: [192.0.2.10]
  resolution: DNS
  ports: [{ number: 443, name: tls, protocol: TLS }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: default }
spec:
  hosts: [db.external.test]
  resolution: STATIC
  ports: [{ number: 5432, name: tcp-db, protocol: TCP }]
  endpoints: [{ address: 127.0.0.1, ports: { tcp-db: ${echoPort} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: wild, namespace: default }
spec:
  hosts: ["*.wild.test"]
  resolution: NONE
  ports: [{ number: 443, name: tls, protocol: TLS }]
`;

beforeAll(async () => {
  requireDig("the DNS proxy test");
  dir = await mkdtemp(join(tmpdir(), "sidecar-dns-"));
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoPort = (echo.address() as { port: number }).port;
  upstream = await startFakeDnsUpstream({ "example.org": "93.184.216.34", "ratings": "198.51.100.1" }, ["silent.example.org"]);
  const configDir = join(dir, "config");
  await mkdir(configDir);
  await writeFile(join(configDir, "services.yaml"), serviceEntries(echoPort));
  const resolvConf = join(dir, "resolv.conf");
  await writeFile(resolvConf, "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.255.255.1\noptions ndots:5\n");
  // A resolver that refuses (nothing listens) comes first: the next one is tried.
  const refusing = await freePort();
  sidecar = await startSidecarProcess([
    "--config", configDir,
    "--namespace", "default",
    "--dns-port", "0",
    "--dns-upstream", `127.0.0.1:${refusing},127.0.0.1:${upstream.port}`,
    "--dns-resolv-conf", resolvConf,
    "--dns-auto-allocate",
  ]);
}, 30_000);

afterAll(async () => {
  await sidecar?.stop();
  await upstream?.close();
  echo?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("the sidecar's DNS proxy (--dns-port)", () => {
  it("answers a mesh service by its FQDN and the short forms a pod resolves, over UDP and TCP, authoritatively, never asking upstream", async () => {
    for (const transport of [[], ["+tcp"]]) {
      for (const name of ["reviews", "reviews.default", "reviews.default.svc", "reviews.default.svc.cluster.local"]) {
        const result = await dig(...transport, name, "A");
        expect(result.status, `${name} ${transport.join("")}`).toBe("NOERROR");
        expect(result.flags).toContain("aa");
        expect(result.answer).toEqual([`${name}. A 10.96.0.10`]);
      }
    }
    expect(upstream.seen.filter((q) => q.includes("reviews"))).toEqual([]);
  });

  it("answers another namespace's service by name.namespace; the bare name is not the mesh's and goes upstream", async () => {
    expect((await dig("ratings.prod", "A")).answer).toEqual(["ratings.prod. A 10.96.0.11"]);
    const bare = await dig("ratings", "A");
    expect(bare.answer).toEqual(["ratings. A 198.51.100.1"]);
    expect(bare.flags).not.toContain("aa");
    expect(upstream.seen).toContain("udp ratings 1");
  });

  it("answers the name the first search domain was appended to with a CNAME and the address", async () => {
    const result = await dig("api.external.test.default.svc.cluster.local", "A");
    expect(result.answer).toEqual(["api.external.test.default.svc.cluster.local. CNAME api.external.test.", "api.external.test. A 192.0.2.10"]);
  });

  it("answers NODATA (NOERROR, no records) for an address type a mesh name has none of", async () => {
    for (const transport of [[], ["+tcp"]]) {
      const result = await dig(...transport, "api.external.test", "AAAA");
      expect([result.status, result.answer]).toEqual(["NOERROR", []]);
    }
    expect(upstream.seen.filter((q) => q.includes("api.external.test"))).toEqual([]);
  });

  it("relays other names to the upstream resolver, over the client's transport, answers as they come (NXDOMAIN too)", async () => {
    const udp = await dig("example.org", "A");
    expect([udp.status, udp.answer]).toEqual(["NOERROR", ["example.org. A 93.184.216.34"]]);
    const tcp = await dig("+tcp", "example.org", "A");
    expect(tcp.answer).toEqual(["example.org. A 93.184.216.34"]);
    expect(upstream.seen).toEqual(expect.arrayContaining(["udp example.org 1", "tcp example.org 1"]));
    expect((await dig("nothing.example.org", "A")).status).toBe("NXDOMAIN");
  });

  it("does not serve wildcard hosts without addresses: their names go upstream", async () => {
    expect((await dig("a.wild.test", "A")).status).toBe("NXDOMAIN");
    expect(upstream.seen).toContain("udp a.wild.test 1");
  });

  it("answers SERVFAIL when no upstream answers", async () => {
    const result = await dig("silent.example.org", "A");
    expect(result.status).toBe("SERVFAIL");
    expect(upstream.seen).toContain("udp silent.example.org 1");
  });

  it("answers an auto-allocated 240.240.x.y for a ServiceEntry without addresses, and TCP to it reaches the ServiceEntry's endpoint", async () => {
    const result = await dig("db.external.test", "A");
    expect(result.answer).toHaveLength(1);
    const address = (result.answer[0] ?? "").split(" ")[2] ?? "";
    expect(address).toMatch(/^240\.240\.\d{1,3}\.\d{1,3}$/);
    // The same address on every query (a hash of the host), and over TCP.
    expect((await dig("+tcp", "db.external.test", "A")).answer).toEqual(result.answer);
    const outbound = sidecar.ports["outbound"] ?? 0;
    const reply = await tcpRoundTrip(outbound, `CONNECT ${address}:5432 HTTP/1.1\r\nHost: ${address}:5432\r\n\r\n`, "ping", 43);
    expect(reply).toBe("HTTP/1.1 200 Connection Established\r\n\r\nping");
  });

  it("shows the name table in /dns_table and config_dump, and counts queries in /stats", async () => {
    const admin = `http://127.0.0.1:${sidecar.ports["admin"]}`;
    const table = (await (await fetch(`${admin}/dns_table`)).json()) as { upstreams: string[]; searchDomains: string[]; hosts: Record<string, { ips: string[]; names: string[]; autoAllocated: boolean }> };
    expect(table.searchDomains).toEqual(["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]);
    expect(table.upstreams).toContain(`127.0.0.1:${upstream.port}`);
    expect(table.hosts["reviews.default.svc.cluster.local"]).toMatchObject({ ips: ["10.96.0.10"], names: ["reviews.default.svc.cluster.local", "reviews.default.svc", "reviews.default", "reviews"], autoAllocated: false });
    expect(table.hosts["db.external.test"]?.autoAllocated).toBe(true);
    expect(Object.keys(table.hosts)).not.toContain("*.wild.test");
    const dump = (await (await fetch(`${admin}/config_dump`)).json()) as { dns?: { hosts: Record<string, unknown> } };
    expect(Object.keys(dump.dns?.hosts ?? {})).toContain("api.external.test");
    const stats = await (await fetch(`${admin}/stats`)).text();
    expect(stats).toMatch(/^dns\.answered_locally: [1-9]\d*$/m);
    expect(stats).toMatch(/^dns\.upstream_failures: [1-9]\d*$/m);
  });
});
