// Runs a process's main function and stops it gracefully: SIGTERM or SIGINT runs the registered
// stop hooks in reverse order under a deadline, then exits with a code that says how it went.

import type { Logger } from "@meshwork/telemetry";

export type StopSignal = "SIGTERM" | "SIGINT";

/** The part of Node's `process` this module uses; inject a fake in tests. */
export interface ProcessLike {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
  /** Ends the process. A fake may return; runUntilStopped calls it exactly once. */
  exit(code: number): void;
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A stop hook closes one resource (server, stream, timer); it may be async. */
export type StopHook = () => Promise<void> | void;

/** What `main` gets: register cleanup, and watch `signal` to abandon long work. */
export interface Lifecycle {
  /** Aborted when a stop signal arrives. */
  readonly signal: AbortSignal;
  /** Registers a hook; hooks run in reverse order of registration, each after the previous settled. */
  onStop(name: string, hook: StopHook): void;
}

export interface RunOptions {
  readonly logger: Logger;
  /** Time for all stop hooks together before the process exits with 1; default 10 000 ms. */
  readonly stopDeadlineMs?: number;
  /** Default: the real process, whose exit waits for stdout and stderr to flush. */
  readonly process?: ProcessLike;
  /** Default: the global setTimeout/clearTimeout. */
  readonly timers?: Timers;
}

/** 128 + signal number, the shell's convention for "killed by signal". */
const SIGNAL_EXIT_CODES: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Calls `main` and exits when it is done. `main` either resolves with an exit code (a task, such as
 * a CLI command) or resolves with nothing (a server, which then runs until a stop signal).
 * Exit codes:
 * - main's code after the hooks ran; 1 if main threw;
 * - on a stop signal while serving: 0;
 * - on a stop signal while main is still running (interrupted work): 128 + signal number (143, 130);
 * - 1 instead whenever a hook threw or the deadline passed. A second signal exits at once.
 * Resolves with the exit code after calling `process.exit` (which a fake process may not end).
 */
export function runUntilStopped(
  main: (lifecycle: Lifecycle) => Promise<number | void>,
  options: RunOptions,
): Promise<number> {
  const { logger } = options;
  const proc = options.process ?? nodeProcess;
  const timers = options.timers ?? globalTimers;
  const deadlineMs = options.stopDeadlineMs ?? 10_000;
  const hooks: { name: string; hook: StopHook }[] = [];
  const abort = new AbortController();
  let phase: "running" | "serving" | "stopping" | "exited" = "running";

  return new Promise<number>((resolve) => {
    const exit = (code: number): void => {
      if (phase === "exited") return;
      phase = "exited";
      proc.off("SIGTERM", onSigterm);
      proc.off("SIGINT", onSigint);
      proc.exit(code);
      resolve(code);
    };

    // A function, so TypeScript does not narrow `phase` across the awaits in stop().
    const hasExited = (): boolean => phase === "exited";

    const stop = async (code: number): Promise<void> => {
      phase = "stopping";
      let pending = "";
      const deadline = timers.setTimeout(() => {
        logger.error("stop deadline passed", { deadlineMs, pendingHook: pending });
        exit(1);
      }, deadlineMs);
      let failed = false;
      for (const { name, hook } of [...hooks].reverse()) {
        pending = name;
        try {
          await hook();
          logger.debug("stop hook done", { hook: name });
        } catch (error) {
          failed = true;
          logger.error("stop hook failed", { hook: name, err: error });
        }
        if (hasExited()) return;
      }
      timers.clearTimeout(deadline);
      const exitCode = failed ? 1 : code;
      logger.info("stopped", { exitCode });
      exit(exitCode);
    };

    const onSignal = (signal: StopSignal): void => {
      if (phase === "exited") return;
      if (phase === "stopping") {
        logger.warn("second stop signal, exiting now", { signal });
        exit(SIGNAL_EXIT_CODES[signal]);
        return;
      }
      logger.info("stop signal received", { signal });
      const code = phase === "serving" ? 0 : SIGNAL_EXIT_CODES[signal];
      abort.abort(new Error(`stopped by ${signal}`));
      void stop(code);
    };
    const onSigterm = (): void => onSignal("SIGTERM");
    const onSigint = (): void => onSignal("SIGINT");
    proc.on("SIGTERM", onSigterm);
    proc.on("SIGINT", onSigint);

    const lifecycle: Lifecycle = {
      signal: abort.signal,
      onStop: (name, hook) => void hooks.push({ name, hook }),
    };
    // Started from a microtask so that a synchronous throw in main is handled like a rejection.
    Promise.resolve()
      .then(() => main(lifecycle))
      .then(
        (code) => {
          if (phase !== "running") return;
          if (code === undefined) phase = "serving";
          else void stop(code);
        },
        (error: unknown) => {
          if (phase !== "running") return;
          logger.error("failed", { err: error });
          void stop(1);
        },
      );
  });
}

const globalTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The real process; exit waits until what was written to stdout and stderr has been handed off. */
const nodeProcess: ProcessLike = {
  on: (signal, listener) => process.on(signal, listener),
  off: (signal, listener) => process.off(signal, listener),
  exit: (code) => {
    process.exitCode = code;
    let streams = 2;
    const done = (): void => {
      streams -= 1;
      if (streams === 0) process.exit(code);
    };
    process.stdout.write("", done);
    process.stderr.write("", done);
  },
};
