// The DNS proxy on both loopbacks (--dns-bind 127.0.0.1,::1, what the injector sets for a
// dual-stack pod with DNS capture: capture redirects IPv4 queries to 127.0.0.1 and IPv6 ones to
// ::1, and Istio's agent listens on localhost in both families, never on the pod's addresses). A
// real sidecar process in standalone mode, queried with the real `dig` at each address over UDP
// and TCP; that the port is free on any other address is shown by binding it there ourselves
// (a wildcard listener, `::` or 0.0.0.0, would hold it: EADDRINUSE). Needs `dig` (dnsutils).
import * as dgram from "node:dgram";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digServer, requireDig } from "./support/dig.ts";
import { startSidecarProcess, type SidecarProcess } from "./support/sidecar-process.ts";

let dir: string;
let sidecar: SidecarProcess;

const serviceEntry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  addresses: [10.96.0.10, fd00:10:96::10]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1 }]
`;

function dnsPort(): number {
  const port = sidecar.ports["dns"];
  if (port === undefined) throw new Error(`the sidecar reported no dns port: ${JSON.stringify(sidecar.ports)}`);
  return port;
}

/** Binds `host:port` (UDP or TCP) and releases it: the error code when it is taken, "free" otherwise. */
async function tryBind(host: string, port: number, udp: boolean): Promise<string> {
  return new Promise((resolve) => {
    if (udp) {
      const socket = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
      socket.once("error", (error: NodeJS.ErrnoException) => {
        socket.close();
        resolve(error.code ?? String(error));
      });
      socket.bind(port, host, () => socket.close(() => resolve("free")));
    } else {
      const server = net.createServer();
      server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
      server.listen(port, host, () => server.close(() => resolve("free")));
    }
  });
}

beforeAll(async () => {
  requireDig("the dual-loopback DNS proxy test");
  dir = await mkdtemp(join(tmpdir(), "sidecar-dns-dual-"));
  const configDir = join(dir, "config");
  await mkdir(configDir);
  await writeFile(join(configDir, "services.yaml"), serviceEntry);
  const resolvConf = join(dir, "resolv.conf");
  await writeFile(resolvConf, "search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n");
  sidecar = await startSidecarProcess(["--config", configDir, "--namespace", "default", "--dns-port", "0", "--dns-resolv-conf", resolvConf], {
    env: { MESHWORK_DNS_BIND: "127.0.0.1,::1" },
  });
}, 30_000);

afterAll(async () => {
  await sidecar?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("the sidecar's DNS proxy on 127.0.0.1 and ::1 (MESHWORK_DNS_BIND=127.0.0.1,::1)", () => {
  it("answers on both addresses, over UDP and TCP, on the one reported port", async () => {
    for (const server of ["127.0.0.1", "::1"]) {
      for (const transport of [[], ["+tcp"]]) {
        for (const type of ["A", "AAAA"]) {
          const result = await digServer(server, dnsPort(), ...transport, "reviews", type);
          expect(result.status, `@${server} ${transport.join("")} ${type}`).toBe("NOERROR");
          expect(result.flags).toContain("aa");
          expect(result.answer).toEqual([`reviews. ${type} ${type === "A" ? "10.96.0.10" : "fd00:10:96::10"}`]);
        }
      }
    }
  });

  it("lists every address in /dns_table and config_dump's listeners", async () => {
    const admin = `http://127.0.0.1:${sidecar.ports["admin"]}`;
    const table = (await (await fetch(`${admin}/dns_table`)).json()) as { listening: string[] };
    expect(table.listening).toEqual([`127.0.0.1:${dnsPort()}`, `[::1]:${dnsPort()}`]);
    const dump = (await (await fetch(`${admin}/config_dump`)).json()) as { listeners: { name: string; address: string }[] };
    expect(dump.listeners.filter((l) => l.name.startsWith("dns"))).toEqual([
      { name: `dns 127.0.0.1:${dnsPort()}`, address: `127.0.0.1:${dnsPort()}` },
      { name: `dns [::1]:${dnsPort()}`, address: `[::1]:${dnsPort()}` },
    ]);
  });

  it("does not hold the port on any other address: UDP and TCP on 127.0.0.2 are free (a `::` or 0.0.0.0 listener would take them)", async () => {
    // The check can fail: the proxy's own addresses are taken.
    expect(await tryBind("127.0.0.1", dnsPort(), true)).toBe("EADDRINUSE");
    expect(await tryBind("::1", dnsPort(), false)).toBe("EADDRINUSE");
    expect(await tryBind("127.0.0.2", dnsPort(), true)).toBe("free");
    expect(await tryBind("127.0.0.2", dnsPort(), false)).toBe("free");
  });
});

describe("--dns-bind that is not an address list", () => {
  it("stops the sidecar with an error naming the flag and the fix", async () => {
    const failed = startSidecarProcess(["--dns-port", "0", "--config", join(dir, "config"), "--dns-bind", "localhost"]);
    await expect(failed).rejects.toThrow(/--dns-bind \W{1,2}localhost\W{1,2}: not an IP address; give addresses the DNS proxy listens on/);
  });
});
