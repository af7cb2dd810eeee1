// Loads a standalone config directory with the reading and validating half in a short-lived child
// process (config-worker.ts) and the ProxyConfig built here from the resources it sends back. The
// sidecar then never loads @meshwork/config (the schemas, `yaml`, `js-yaml`: their code and
// objects stay in memory once loaded), keeps no slice of the YAML text (the resources arrive as
// fresh strings), and neither the parsing's garbage nor the pages V8 and the allocator took for it
// are ever the sidecar's: 1,000 services 71.6 → 66.8 MB idle, peak 99 → 87 MB
// (bench/proxy/README.md, "Idle memory"). A worker thread was measured too and kept nothing: its
// isolate's heap goes, but the allocator arena and code pages it touched stay with the process.
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ConfigDirLoader, ConfigResourcesResult } from "./config-from-resources.ts";
import { configFromResources } from "./config-from-resources.ts";

/** How long the reader process may take before it is killed (a config directory is read in well under a second). */
const readTimeoutMs = 120_000;

/** What the worker process gets (JSON, its one argument). */
export interface ConfigWorkerRequest {
  readonly dir: string;
  readonly version: string | undefined;
}

/** How to start the worker process: its entry module and Node's flags for it (the sidecar's own by default). */
export interface ConfigWorkerEntry {
  /** The entry module (config-worker.js beside this module in a build). */
  readonly url: URL;
  /**
   * Node flags of the worker process (e.g. a TypeScript loader in tests); none when unset: the
   * sidecar's own are for serving (a 1 MB young generation slows parsing down), and some must
   * not be inherited (--inspect would ask for the sidecar's debugger port a second time).
   */
  readonly execArgv?: readonly string[] | undefined;
}

/**
 * The compiled worker entry beside this module (`dist/config/config-worker.js` of the per-file
 * build; `dist/bundle/config-worker.js`, an entry point of bundle-sidecar.mjs), or undefined when
 * this module runs from its TypeScript source (tsx, tests): the caller then reads in-process.
 */
export function builtConfigWorker(base: string = import.meta.url): ConfigWorkerEntry | undefined {
  if (!base.endsWith(".js")) return undefined;
  const url = new URL("./config-worker.js", base);
  return existsSync(fileURLToPath(url)) ? { url } : undefined;
}

/**
 * A loader reading in a worker process started from `entry`, one per load (it exits once it has
 * answered). When the process cannot be started at all (a runtime without fork), it reads in-process.
 */
export function workerConfigLoader(entry: ConfigWorkerEntry): ConfigDirLoader {
  return async (dir, options) => {
    const request: ConfigWorkerRequest = { dir, version: options.version };
    const read = (await readInWorker(entry, request)) ?? (await (await import("./read-config-resources.ts")).readConfigResources(dir, options.version));
    return configFromResources(read, options);
  };
}

/** The worker's answer; undefined when it could not be started; a failed read when it died before answering. */
function readInWorker(entry: ConfigWorkerEntry, request: ConfigWorkerRequest): Promise<ConfigResourcesResult | undefined> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof fork>;
    try {
      child = fork(fileURLToPath(entry.url), [JSON.stringify(request)], {
        serialization: "advanced",
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        execArgv: [...(entry.execArgv ?? [])],
        // A reader that hangs is stopped (then reported as ended before answering): the last good config keeps serving.
        timeout: readTimeoutMs,
      });
    } catch {
      resolve(undefined);
      return;
    }
    let result: ConfigResourcesResult | undefined;
    let started = false;
    child.once("spawn", () => {
      started = true;
    });
    child.once("message", (message) => {
      // The answer is all that is needed: the process exits on its own (its memory is not ours).
      result = message as ConfigResourcesResult;
      resolve(result);
    });
    child.once("error", () => {
      // Not started (ENOENT, EAGAIN...): read in-process. Other errors end in "exit".
      if (!started) resolve(undefined);
    });
    child.once("exit", (code, signal) => {
      resolve(
        result ?? {
          ok: false,
          errors: [`${request.dir}: error: the config reader process ended (${signal ?? `exit code ${String(code)}`}) before it answered (hint: see its output above in the sidecar's log; a very large config may need more memory)`],
          warnings: [],
          files: [],
        },
      );
    });
  });
}
