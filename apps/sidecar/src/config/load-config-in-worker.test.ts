import { fork } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoadConfigDirOptions, LoadConfigDirResult } from "./config-from-resources.ts";
import { loadConfigDir } from "./load-config-dir.ts";
import { builtConfigWorker, workerConfigLoader, type ConfigWorkerEntry } from "./load-config-in-worker.ts";

/** The worker process from its TypeScript source, as tsx runs the sidecar's sources. */
const tsWorker: ConfigWorkerEntry = { url: new URL("./config-worker.ts", import.meta.url), execArgv: ["--import", "tsx", "--conditions=@meshwork/source"] };

/** Istio's examples (used by path): together they define VirtualService ratings three times (errors); a few of them load. */
const examples = "/work/shared/examples";
const benchConfig = fileURLToPath(new URL("../../../../bench/proxy/configs/bench.yaml", import.meta.url));

/** A directory that loads: the bench's service and route, Istio's user-routing and subsets examples (warnings: reviews has no ServiceEntry). */
async function writeGoodConfig(target: string): Promise<void> {
  await copyFile(benchConfig, join(target, "bench.yaml"));
  for (const name of ["01-virtualservice-user-routing.yaml", "02-destinationrule-subsets-lb.yaml", "05-destinationrule-circuit-breaker.yaml"]) {
    await copyFile(join(examples, name), join(target, name));
  }
}

const options: LoadConfigDirOptions = { namespace: "default", domainSuffix: "cluster.local", proxyLabels: { app: "productpage" } };

/** Everything a result holds, comparable: Maps and Sets as entries, regular expressions and functions as their source. */
function comparable(result: LoadConfigDirResult): string {
  return JSON.stringify(result, (_key, value: unknown) => {
    if (value instanceof Map || value instanceof Set) return [...value];
    if (value instanceof RegExp || typeof value === "function") return String(value);
    return value;
  });
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-config-worker-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("workerConfigLoader", () => {
  it("gives the config loadConfigDir gives in-process", async () => {
    await writeGoodConfig(dir);
    const inProcess = await loadConfigDir(dir, options);
    const inWorker = await workerConfigLoader(tsWorker)(dir, options);
    expect(inWorker.ok).toBe(true);
    expect(inProcess.ok && inProcess.warnings.length > 0 && inProcess.config.clusters.size > 0).toBe(true);
    expect(comparable(inWorker)).toBe(comparable(inProcess));
    const pinned = await workerConfigLoader(tsWorker)(dir, { ...options, version: "r7" });
    expect(pinned.ok && pinned.config.version).toBe("r7");
  });

  it("gives the errors loadConfigDir gives for a bad directory", async () => {
    const inWorker = await workerConfigLoader(tsWorker)(examples, options);
    expect(inWorker.ok).toBe(false);
    expect(comparable(inWorker)).toBe(comparable(await loadConfigDir(examples, options)));
    const missing = join(dir, "nope");
    expect(comparable(await workerConfigLoader(tsWorker)(missing, options))).toBe(comparable(await loadConfigDir(missing, options)));
  });

  it("reports a worker process that ends without answering", async () => {
    await writeFile(join(dir, "crash.mjs"), "process.exit(3);\n");
    const result = await workerConfigLoader({ url: pathToFileURL(join(dir, "crash.mjs")) })(dir, options);
    expect(result).toEqual({
      ok: false,
      errors: [`${dir}: error: the config reader process ended (exit code 3) before it answered (hint: see its output above in the sidecar's log; a very large config may need more memory)`],
      warnings: [],
      files: [],
    });
  });
});

describe("config-worker.ts", () => {
  it("exits cleanly when the sidecar closed the channel before the answer", async () => {
    await writeGoodConfig(dir);
    const child = fork(fileURLToPath(tsWorker.url), [JSON.stringify({ dir, version: undefined })], { execArgv: [...(tsWorker.execArgv ?? [])], stdio: ["ignore", "ignore", "pipe", "ipc"] });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("spawn", () => child.disconnect());
    const [code] = (await once(child, "exit")) as [number | null];
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  });
});

describe("builtConfigWorker", () => {
  it("finds config-worker.js beside a built module, and nothing beside a TypeScript source", async () => {
    const base = pathToFileURL(join(dir, "start-sidecar.js")).href;
    expect(builtConfigWorker(base)).toBeUndefined();
    await writeFile(join(dir, "config-worker.js"), "");
    expect(builtConfigWorker(base)?.url.href).toBe(pathToFileURL(join(dir, "config-worker.js")).href);
    expect(builtConfigWorker(import.meta.url)).toBeUndefined();
  });
});
