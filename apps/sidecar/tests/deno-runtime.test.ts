// The sidecar's entry runs unchanged under Deno (DESIGN.md §4): the same source, the same flags,
// serving a request through the outbound listener and its metrics page.
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defined, send } from "./support/http-client.ts";
import { denoBinary, startSidecarProcess, type SidecarProcess } from "./support/sidecar-process.ts";
import { serviceEntryYaml, startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let dir: string;
let backend: UpstreamServer;
let sidecar: SidecarProcess;

beforeAll(async () => {
  await access(denoBinary).catch(() => {
    throw new Error(`Deno is missing at ${denoBinary}: run \`npm ci\` (devDependency deno 2.9.5)`);
  });
  dir = await mkdtemp(join(tmpdir(), "sidecar-deno-"));
  backend = await startUpstream("backend");
  await writeFile(join(dir, "backend.yaml"), serviceEntryYaml("backend.test", 80, [backend]));
  sidecar = await startSidecarProcess(["--config", dir, "--access-log", "off"], { runtime: "deno" });
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await backend?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("sidecar under Deno", () => {
  it("proxies a request and reports it in Istio metrics", async () => {
    const res = await send(defined(sidecar.ports["outbound"], "outbound port"), { host: "backend.test", path: "/deno" });
    expect([res.status, res.body]).toEqual([200, "backend"]);
    const metrics = await (await fetch(`http://127.0.0.1:${defined(sidecar.ports["stats"], "stats port")}/stats/prometheus`)).text();
    expect(metrics).toMatch(/istio_requests_total\{reporter="source",[^}]*destination_service="backend.test"[^}]*response_code="200"/);
  });

  it("stops on SIGTERM with exit code 0", async () => {
    expect(await sidecar.stop()).toBe(0);
  });
});
