// Headless services through a real sidecar's DNS proxy (Istio's name table for services without an
// address: pkg/dns/server/name_table.go): a sidecar process in standalone mode whose ServiceEntry
// has no `addresses` and selects WorkloadEntries, queried with the real `dig`. The service's names
// answer with every endpoint, a pod's `<hostname>.<service>` names with that pod's address, the
// answers follow the endpoints when the config changes, reverse lookups go upstream as in Istio,
// and /dns_table lists the entries. Needs `dig` (dnsutils).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@meshwork/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dig, requireDig } from "./support/dig.ts";
import { startFakeDnsUpstream, type FakeDnsUpstream } from "./support/fake-dns-upstream.ts";
import { startSidecarProcess, type SidecarProcess } from "./support/sidecar-process.ts";

let dir: string;
let configFile: string;
let upstream: FakeDnsUpstream;
let sidecar: SidecarProcess;

/** The mysql ServiceEntry (no addresses: headless) and a WorkloadEntry per `[pod hostname, address]`. */
const config = (pods: readonly (readonly [string, string])[]): string =>
  [
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: mysql, namespace: default }
spec:
  hosts: [mysql.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 3306, name: tcp-mysql, protocol: TCP }]
  workloadSelector: { labels: { app: mysql } }
`,
    ...pods.map(
      ([hostname, address]) => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${hostname}, namespace: default }
spec:
  address: ${address}
  labels: { app: mysql, meshwork.io/pod-hostname: ${hostname} }
`,
    ),
  ].join("---\n");

const ask = (...args: string[]) => dig(sidecar.ports["dns"] ?? 0, ...args);

beforeAll(async () => {
  requireDig("the headless DNS proxy test");
  dir = await mkdtemp(join(tmpdir(), "sidecar-dns-headless-"));
  upstream = await startFakeDnsUpstream({});
  const configDir = join(dir, "config");
  await mkdir(configDir);
  configFile = join(configDir, "mysql.yaml");
  await writeFile(configFile, config([["mysql-0", "127.0.0.10"], ["mysql-1", "127.0.0.11"]]));
  const resolvConf = join(dir, "resolv.conf");
  await writeFile(resolvConf, "search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n");
  sidecar = await startSidecarProcess(["--config", configDir, "--namespace", "default", "--dns-port", "0", "--dns-upstream", `127.0.0.1:${upstream.port}`, "--dns-resolv-conf", resolvConf]);
  if (sidecar.ports["dns"] === undefined) throw new Error(`the sidecar reported no dns port: ${JSON.stringify(sidecar.ports)}`);
}, 30_000);

afterAll(async () => {
  await sidecar?.stop();
  await upstream?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("the sidecar's DNS proxy and headless services", () => {
  it("answers the service's names with every endpoint's address, over UDP and TCP, authoritatively", async () => {
    for (const transport of [[], ["+tcp"]]) {
      for (const name of ["mysql", "mysql.default.svc.cluster.local"]) {
        const result = await ask(...transport, name, "A");
        expect(result.status, `${name} ${transport.join("")}`).toBe("NOERROR");
        expect(result.flags).toContain("aa");
        expect([...result.answer].sort()).toEqual([`${name}. A 127.0.0.10`, `${name}. A 127.0.0.11`]);
      }
    }
    expect((await ask("mysql", "AAAA")).answer).toEqual([]);
    expect(upstream.seen.filter((q) => q.includes("mysql"))).toEqual([]);
  });

  it("answers a pod's <hostname>.<service> names with that pod's address", async () => {
    for (const name of ["mysql-0.mysql", "mysql-0.mysql.default", "mysql-0.mysql.default.svc.cluster.local"]) {
      expect((await ask(name, "A")).answer, name).toEqual([`${name}. A 127.0.0.10`]);
    }
    expect((await ask("+tcp", "mysql-1.mysql.default.svc", "A")).answer).toEqual(["mysql-1.mysql.default.svc. A 127.0.0.11"]);
  });

  it("relays reverse lookups upstream, for a pod's address too, as Istio's agent does", async () => {
    const reverse = await ask("-x", "127.0.0.10");
    expect(reverse.status).toBe("NXDOMAIN");
    expect(reverse.flags).not.toContain("aa");
    expect(upstream.seen).toContain("udp 10.0.0.127.in-addr.arpa 12");
  });

  it("lists the headless service and its pods in /dns_table", async () => {
    const table = (await (await fetch(`http://127.0.0.1:${sidecar.ports["admin"]}/dns_table`)).json()) as { hosts: Record<string, { ips: string[]; names: string[]; headless?: string }> };
    expect(table.hosts["mysql.default.svc.cluster.local"]).toMatchObject({ ips: ["127.0.0.10", "127.0.0.11"], headless: "service" });
    expect(table.hosts["mysql-0.mysql.default.svc.cluster.local"]).toMatchObject({
      ips: ["127.0.0.10"],
      names: ["mysql-0.mysql.default.svc.cluster.local", "mysql-0.mysql.default.svc", "mysql-0.mysql.default", "mysql-0.mysql"],
      headless: "pod",
    });
  });

  // Last: it changes the config the other tests read.
  it("follows the endpoints when the config changes: a removed pod's name goes upstream, a new one answers", async () => {
    await writeFile(configFile, config([["mysql-0", "127.0.0.10"], ["mysql-2", "127.0.0.12"]]));
    await eventually("mysql answers with mysql-0 and mysql-2", async () => {
      const result = await ask("mysql", "A");
      return [...result.answer].sort().join(",") === "mysql. A 127.0.0.10,mysql. A 127.0.0.12";
    });
    expect((await ask("mysql-2.mysql", "A")).answer).toEqual(["mysql-2.mysql. A 127.0.0.12"]);
    const gone = await ask("mysql-1.mysql", "A");
    expect(gone.status).toBe("NXDOMAIN");
    expect(upstream.seen).toContain("udp mysql-1.mysql 1");
  });
});
