// The bundled sidecar (bundle-sidecar.mjs, what the image runs) reads --config in its worker
// process (config-worker.js beside main.js): the only build where that path runs, since tests
// run the sources through tsx, which read in-process.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bundler = fileURLToPath(new URL("../../bundle-sidecar.mjs", import.meta.url));

const serviceEntry = (name: string, address: string): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints: [{ address: ${address} }]
`;

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sidecar-bundle-"));
  execFileSync(process.execPath, [bundler, "--outdir", join(work, "bundle")], { stdio: "ignore" });
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("the bundled sidecar's config worker", () => {
  it("loads the directory, and reloads it (a bad file rejected, a good one applied)", async () => {
    // builtConfigWorker finds it beside the chunk that holds load-config-in-worker.ts (all chunks are in one directory).
    expect(existsSync(join(work, "bundle", "config-worker.js"))).toBe(true);
    const config = join(work, "config");
    await mkdir(config);
    await writeFile(join(config, "a.yaml"), serviceEntry("alpha", "10.0.0.1"));
    const child = spawn(
      process.execPath,
      [join(work, "bundle", "main.js"), "--config", config, "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0", "--stats-port", "0", "--namespace", "default", "--access-log", "off", "--drain-seconds", "0"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const lines: Record<string, unknown>[] = [];
    let buffered = "";
    const waiting: { test: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        lines.push(line);
        for (const w of [...waiting]) {
          if (!w.test(line)) continue;
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    const next = (test: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const found = lines.find(test);
        if (found) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`no such log line; got:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`)), 30_000);
        waiting.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    try {
      expect(await next((l) => l["msg"] === "config applied")).toMatchObject({ clusters: 1, services: 1 });
      await next((l) => l["msg"] === "sidecar started");

      await writeFile(join(config, "b.yaml"), serviceEntry("beta", "10.0.0.2").replace("hosts:", "hostz:"));
      const rejected = await next((l) => l["msg"] === "config rejected; the last good config keeps serving");
      expect(String(rejected["detail"])).toMatch(/b\.yaml:\d+:\d+: error MW\d+/);

      await writeFile(join(config, "b.yaml"), serviceEntry("beta", "10.0.0.2"));
      expect(await next((l) => l["msg"] === "config applied" && l["clusters"] === 2)).toMatchObject({ services: 2 });
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
    }
  }, 60_000);
});
