import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoadConfigDirOptions, LoadConfigDirResult } from "./load-config-dir.ts";
import { watchConfigDir, type ConfigDirWatcher } from "./watch-config-dir.ts";

const serviceEntry = (address: string): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: api
  namespace: default
spec:
  hosts:
  - api.default.svc.cluster.local
  resolution: STATIC
  ports:
  - number: 80
    name: http
  endpoints:
  - address: ${address}
`;

const options = { namespace: "default", domainSuffix: "cluster.local", proxyLabels: {}, debounceMs: 20 };

let dir: string;
let watcher: ConfigDirWatcher | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-watch-"));
});

afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Collects results; `next(predicate)` resolves with the first result (already received or coming) that satisfies it. */
function collector(): { onChange: (r: LoadConfigDirResult) => void; next: (p: (r: LoadConfigDirResult) => boolean) => Promise<LoadConfigDirResult> } {
  const results: LoadConfigDirResult[] = [];
  const waiting: { p: (r: LoadConfigDirResult) => boolean; resolve: (r: LoadConfigDirResult) => void }[] = [];
  return {
    onChange(r) {
      results.push(r);
      for (const w of [...waiting]) {
        if (w.p(r)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(r);
        }
      }
    },
    next(p) {
      const found = results.find(p);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiting.push({ p, resolve }));
    },
  };
}

const endpointOf = (r: LoadConfigDirResult): string | undefined =>
  r.ok ? r.config.clusters.get("outbound|80||api.default.svc.cluster.local")?.endpoints[0]?.address : undefined;

describe("watchConfigDir", () => {
  it("reloads after a change, reports a bad file as errors, and recovers when it is fixed", async () => {
    await writeFile(join(dir, "api.yaml"), serviceEntry("10.0.0.1"));
    const c = collector();
    watcher = watchConfigDir(dir, c.onChange, options);

    await writeFile(join(dir, "api.yaml"), serviceEntry("10.0.0.2"));
    expect(endpointOf(await c.next((r) => endpointOf(r) === "10.0.0.2:80"))).toBe("10.0.0.2:80");

    await writeFile(join(dir, "broken.yaml"), "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: broken\nspec:\n  hostz: [x]\n");
    const failed = await c.next((r) => !r.ok);
    expect(failed.ok).toBe(false);
    if (!failed.ok) expect(failed.errors.some((e) => e.includes("broken.yaml:6:") && e.includes("hostz"))).toBe(true);

    await rm(join(dir, "broken.yaml"));
    await writeFile(join(dir, "api.yaml"), serviceEntry("10.0.0.3"));
    expect(endpointOf(await c.next((r) => endpointOf(r) === "10.0.0.3:80"))).toBe("10.0.0.3:80");
  });

  it("reloads with the loader given (the sidecar's reads in a worker process)", async () => {
    const c = collector();
    const loads: string[] = [];
    const load = async (loadDir: string, loadOptions: LoadConfigDirOptions): Promise<LoadConfigDirResult> => {
      loads.push(loadDir);
      return { ok: false, errors: [`loaded with version ${String(loadOptions.version)}`], warnings: [], files: [] };
    };
    watcher = watchConfigDir(dir, c.onChange, { ...options, version: "v9", load });
    await writeFile(join(dir, "api.yaml"), serviceEntry("10.0.0.4"));
    const result = await c.next(() => true);
    expect(result).toEqual({ ok: false, errors: ["loaded with version v9"], warnings: [], files: [] });
    expect(loads[0]).toBe(dir);
  });

  it("calls back no more after close", async () => {
    const results: LoadConfigDirResult[] = [];
    watcher = watchConfigDir(dir, (r) => results.push(r), options);
    await watcher.close();
    await writeFile(join(dir, "api.yaml"), serviceEntry("10.0.0.9"));
    // Give a (wrongly) live watcher every chance to fire: several debounce periods through the event loop.
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(results).toEqual([]);
  });

  it("reports a directory that cannot be watched", async () => {
    const c = collector();
    watcher = watchConfigDir(join(dir, "missing"), c.onChange, options);
    const result = await c.next(() => true);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toContain("cannot watch the config directory");
  });
});
