// The real entry point as a child process: it starts, logs "ready" as JSON on stdout, stops with
// exit 0 on SIGTERM; and a world-readable key file stops the start with exit 1 and a log line
// naming the file and the fix.
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { ProcessGroup } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
const processes = new ProcessGroup();
afterAll(() => processes.close());

const runCa = (args: readonly string[]) => processes.startSource("src/main.ts", args, { cwd: projectRoot, name: "ca" });

describe("the ca process", () => {
  it("starts, reports ready and stops cleanly on SIGTERM", { timeout: 30_000 }, async () => {
    const dir = await processes.tempDir("meshwork-ca-proc-");
    const run = runCa(["--data-dir", join(dir, "ca"), "--grpc-port", "0", "--admin-port", "0"]);
    const ready = await run.waitForLine("ready");
    expect(ready).toMatchObject({ name: "ca", level: "info", serverId: "spiffe://cluster.local/ns/mesh-system/sa/ca" });
    run.kill("SIGTERM");
    expect(await run.exit).toBe(0);
  });

  it("refuses to start with a world-readable key file, naming the file and the fix", { timeout: 30_000 }, async () => {
    const dir = await processes.tempDir("meshwork-ca-proc-");
    const dataDir = join(dir, "ca");
    const first = runCa(["--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0"]);
    await first.waitForLine("ready");
    first.kill("SIGTERM");
    await first.exit;
    const keyPath = join(dataDir, "root-key.pem");
    await chmod(keyPath, 0o644);
    const second = runCa(["--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0"]);
    expect(await second.exit).toBe(1);
    expect(second.lines().find((l) => l["level"] === "error")).toMatchObject({ file: keyPath, msg: `private key file ${keyPath} is accessible by group or others (mode 0644); run \`chmod 600 ${keyPath}\` and start again` });
  });
});
