// --concurrency N: worker processes share the listeners; the stats port sums every worker's
// Istio metrics; a worker that dies is replaced; SIGTERM stops them all.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "./support/http-client.ts";
import { startSidecarProcess, type SidecarProcess } from "./support/sidecar-process.ts";
import { serviceEntryYaml, startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let dir: string;
let backend: UpstreamServer;
let sidecar: SidecarProcess;
// Fixed ports: the workers bind the shared listeners, so a port picked by 0 would differ per worker.
const base = 21_000 + Math.floor(Math.random() * 20_000);
const outbound = base;
const stats = base + 2;

/** The primary's children that run the sidecar (tsx also starts an esbuild helper process). */
function workerPids(): number[] {
  const out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(sidecar.child.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes("sidecar/src/main.ts"))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

async function totalRequests(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stats}/stats/prometheus`)).text();
  return [...text.matchAll(/^istio_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-workers-"));
  backend = await startUpstream("backend");
  await writeFile(join(dir, "backend.yaml"), serviceEntryYaml("backend.test", 80, [backend]));
  const ports = ["--outbound-port", String(outbound), "--inbound-port=-1", "--admin-port", String(base + 1), "--stats-port", String(stats)];
  sidecar = await startSidecarProcess(["--config", dir, "--access-log", "off", "--concurrency", "2", ...ports], { ephemeralPorts: false });
  await eventually("two workers", async () => workerPids().length === 2);
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await backend?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("sidecar --concurrency 2", () => {
  it("serves through the shared listener and sums every worker's metrics on the stats port", async () => {
    for (let i = 0; i < 20; i++) {
      const res = await send(outbound, { host: "backend.test" });
      expect(res.status).toBe(200);
    }
    await eventually("20 requests in the summed metrics", async () => (await totalRequests()) === 20);
  });

  it("replaces a worker that dies and keeps serving", async () => {
    const [victim] = workerPids();
    process.kill(victim as number, "SIGKILL");
    await eventually("a new worker", async () => {
      const pids = workerPids();
      return pids.length === 2 && !pids.includes(victim as number);
    });
    const res = await send(outbound, { host: "backend.test" });
    expect(res.status).toBe(200);
  });

  it("stops every worker on SIGTERM", async () => {
    const pids = workerPids();
    expect(await sidecar.stop()).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
