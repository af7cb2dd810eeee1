// The processes one test file starts and the temp dirs they use: started through the group, they
// are all killed and the dirs removed at teardown (`afterAll(() => group.close())`), and their last
// lines go into failure messages.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess, type StartedProcess, type StartProcessOptions } from "./start-process.ts";
import { startSourceProcess, type StartSourceProcessOptions } from "./start-source-process.ts";

export class ProcessGroup {
  readonly #processes: StartedProcess[] = [];
  readonly #dirs: string[] = [];

  /** Every process started (or added) so far. */
  get processes(): readonly StartedProcess[] {
    return this.#processes;
  }

  /** Follows a process started elsewhere. */
  add(started: StartedProcess): StartedProcess {
    this.#processes.push(started);
    return started;
  }

  start(command: string, args: readonly string[], options?: StartProcessOptions): StartedProcess {
    return this.add(startProcess(command, args, options));
  }

  startSource(entry: string, args: readonly string[], options?: StartSourceProcessOptions): StartedProcess {
    return this.add(startSourceProcess(entry, args, options));
  }

  /** The last `count` output lines of every process, for a failure message (e.g. eventually's `context`). */
  tails(count = 12): string {
    return this.#processes.map((p) => p.tail(count)).join("\n");
  }

  /** A new directory under the OS temp dir (named `<prefix>XXXXXX`), removed by close(). */
  async tempDir(prefix = "meshwork-test-"): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return dir;
  }

  /** Teardown: kills every process (killAll) and then removes the temp dirs. */
  async close(): Promise<void> {
    await this.killAll();
    for (const dir of this.#dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  }

  /** Kills every process still running with `signal` (default SIGKILL) and waits until all have exited. */
  async killAll(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    for (const p of this.#processes) p.kill(signal);
    await Promise.all(this.#processes.map((p) => p.exit));
  }
}
