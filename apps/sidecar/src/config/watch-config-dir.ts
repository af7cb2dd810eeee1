// Reloads the standalone sidecar's config directory when it changes: fs.watch on the directory,
// a short debounce (editors and ConfigMap updates write several files, or one file several times),
// then loadConfigDir (or the loader given: start-sidecar's reads in a child process). Loads never
// overlap, and a change during a load triggers one more load, so
// the last callback always reflects the directory as it is now.
import { watch, type FSWatcher } from "node:fs";
import type { ConfigDirLoader, LoadConfigDirOptions, LoadConfigDirResult } from "./config-from-resources.ts";

export interface WatchConfigDirOptions extends LoadConfigDirOptions {
  /** Quiet time after the last change event before reloading; 100 ms by default. */
  readonly debounceMs?: number | undefined;
  /** Loads the directory; loadConfigDir (in this thread) by default. */
  readonly load?: ConfigDirLoader | undefined;
}

export interface ConfigDirWatcher {
  /** Stops watching; no callback runs after the returned promise resolves. */
  close(): Promise<void>;
}

/**
 * Watches `dir` (not recursively, like loadConfigDir) and calls `onChange` with each reload's
 * result — a new config, or the errors of a bad one (the caller keeps its last good config).
 * Does not load at start: call loadConfigDir first. A watcher failure (the directory was removed)
 * is reported as a failed result and watching stops.
 */
export function watchConfigDir(dir: string, onChange: (result: LoadConfigDirResult) => void, options: WatchConfigDirOptions): ConfigDirWatcher {
  const debounceMs = options.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let loading: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const reload = async (): Promise<void> => {
    do {
      again = false;
      const load = options.load ?? (await import("./load-config-dir.ts")).loadConfigDir;
      const result = await load(dir, options);
      if (closed) return;
      onChange(result);
    } while (again && !closed);
  };
  const schedule = (): void => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (loading) {
        again = true;
        return;
      }
      loading = reload().finally(() => {
        loading = undefined;
      });
    }, debounceMs);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, schedule);
    watcher.on("error", (error) => {
      if (closed) return;
      watcher?.close();
      onChange({ ok: false, errors: [`${dir}: error: stopped watching the config directory: ${error.message} (hint: restart the sidecar once the directory exists again)`], warnings: [], files: [] });
    });
  } catch (error) {
    queueMicrotask(() => {
      if (closed) return;
      onChange({
        ok: false,
        errors: [`${dir}: error: cannot watch the config directory: ${error instanceof Error ? error.message : String(error)} (hint: pass an existing directory with --config)`],
        warnings: [],
        files: [],
      });
    });
  }

  return {
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
      await loading;
    },
  };
}
