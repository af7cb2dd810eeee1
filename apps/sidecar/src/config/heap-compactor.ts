// Loading a large config (YAML text, parse trees, validation, then the compiled model) leaves
// megabytes of garbage in V8's old generation, and the heap keeps the pages it grew to: V8 gives
// them back only when its memory reducer decides the process is idle — after 10 s to over a
// minute, or not at all on a busy machine (bench/proxy/README.md, "Idle memory"). One compacting
// full collection shortly after a config is applied returns them at once (about −10 MB with 1,000
// services, ~75 ms of CPU once).
//
// It needs V8's collector exposed (`--expose-gc`, in the launcher's shebang in main.ts and the
// Dockerfile's entrypoint); without it (tests, `tsx`, Deno) this does nothing. Never on the request
// path: one collection `delayMs` after the last config change, at most one per `minIntervalMs`
// (a control plane pushing often does not turn into GC work).
import { setFlagsFromString } from "node:v8";

/** V8's `gc` global under `--expose-gc`. */
export type GcFunction = () => void;

export interface HeapCompactorOptions {
  readonly delayMs: number;
  readonly minIntervalMs: number;
  /** Default: the `gc` global, present only under `--expose-gc`. */
  readonly gc?: GcFunction | undefined;
  /** Sets V8 flags at run time; default node:v8 setFlagsFromString. */
  readonly setFlags?: (flags: string) => void;
  /** Monotonic ms; default performance.now. */
  readonly now?: () => number;
}

export interface HeapCompactor {
  /** A config was applied: collect once, `delayMs` after the last call (debounced). */
  schedule(): void;
  /** Collections made so far (admin `/stats`: `server.heap_compactions`). */
  readonly collections: number;
  close(): void;
}

export function heapCompactor(options: HeapCompactorOptions): HeapCompactor {
  const gc = "gc" in options ? options.gc : (globalThis as { gc?: GcFunction }).gc;
  const setFlags = options.setFlags ?? setFlagsFromString;
  const now = options.now ?? (() => performance.now());
  let timer: NodeJS.Timeout | undefined;
  let collections = 0;
  let lastMs = -Infinity;
  const collect = (): void => {
    timer = undefined;
    collections += 1;
    lastMs = now();
    // A plain full GC frees the garbage but leaves it as free space on half-empty pages; with
    // compaction the live objects move together and the emptied pages are unmapped. The flag is
    // on for this one collection only: the collections V8 schedules itself keep its heuristics.
    setFlags("--compact-on-every-full-gc");
    try {
      gc?.();
    } finally {
      setFlags("--no-compact-on-every-full-gc");
    }
  };
  return {
    schedule() {
      if (gc === undefined) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(collect, Math.max(options.delayMs, lastMs + options.minIntervalMs - now()));
      timer.unref();
    },
    get collections() {
      return collections;
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
