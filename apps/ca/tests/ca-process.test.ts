// The real entry point as a child process: it starts, logs "ready" as JSON on stdout, stops with
// exit 0 on SIGTERM; and a world-readable key file stops the start with exit 1 and a log line
// naming the file and the fix.
import { spawn } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Run {
  readonly lines: () => Record<string, unknown>[];
  readonly waitFor: (msg: string) => Promise<Record<string, unknown>>;
  readonly exit: Promise<number | null>;
  readonly kill: (signal: NodeJS.Signals) => void;
}

function runCa(args: readonly string[]): Run {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", "src/main.ts", ...args], { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const listeners: (() => void)[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  });
  child.stderr.resume();
  const lines = () => out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    lines,
    exit,
    kill: (signal) => child.kill(signal),
    waitFor: (msg) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines().find((l) => l["msg"] === msg);
          if (found) resolve(found);
        };
        listeners.push(check);
        void exit.then((code) => reject(new Error(`exited with ${code} before "${msg}": ${out}`)));
        check();
      }),
  };
}

describe("the ca process", () => {
  it("starts, reports ready and stops cleanly on SIGTERM", { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "meshwork-ca-proc-"));
    dirs.push(dir);
    const run = runCa(["--data-dir", join(dir, "ca"), "--grpc-port", "0", "--admin-port", "0"]);
    const ready = await run.waitFor("ready");
    expect(ready).toMatchObject({ name: "ca", level: "info", serverId: "spiffe://cluster.local/ns/mesh-system/sa/ca" });
    run.kill("SIGTERM");
    expect(await run.exit).toBe(0);
  });

  it("refuses to start with a world-readable key file, naming the file and the fix", { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "meshwork-ca-proc-"));
    dirs.push(dir);
    const dataDir = join(dir, "ca");
    const first = runCa(["--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0"]);
    await first.waitFor("ready");
    first.kill("SIGTERM");
    await first.exit;
    const keyPath = join(dataDir, "root-key.pem");
    await chmod(keyPath, 0o644);
    const second = runCa(["--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0"]);
    expect(await second.exit).toBe(1);
    expect(second.lines().find((l) => l["level"] === "error")).toMatchObject({ file: keyPath, msg: `private key file ${keyPath} is accessible by group or others (mode 0644); run \`chmod 600 ${keyPath}\` and start again` });
  });
});
