// `meshctl ca status` and `meshctl ca rotate-root` against a real CA: apps/ca's entry point runs as
// a child process with --admin-token-file; the commands run in-process (runCommand, real HTTP) and
// once as the real CLI. Without workloads the CA's acknowledgement checks pass at once, so
// `--wait` sees the rotation through publish, switch and retirement.

import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSourceProcess } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caRotateRootCommand, caStatusCommand } from "../src/commands/ca-commands.ts";
import type { CaStatusView } from "../src/core/format-ca-status.ts";
import { runCommand } from "./support/run-command.ts";
import { meshctl, workspaceRoot } from "./support/run-meshctl.ts";

const caMain = fileURLToPath(new URL("../../ca/src/main.ts", import.meta.url));
const token = "admin-token-0123456789";
const cleanups: (() => Promise<void> | void)[] = [];
let dir: string;
let adminUrl: string;
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshwork-meshctl-ca-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "admin-token"), `${token}\n`, { mode: 0o600 });
  const ca = startSourceProcess(caMain, ["--data-dir", join(dir, "ca"), "--grpc-port", "0", "--admin-port", "0", "--admin-token-file", join(dir, "admin-token")], { cwd: workspaceRoot, name: "ca" });
  cleanups.push(async () => void (await ca.stop()));
  const ready = await ca.waitForLine("ready");
  adminUrl = `http://127.0.0.1:${String(ready["adminPort"])}`;
}, 60_000);

const tokenFile = { path: "admin-token", text: `${token}\n` };
const run = (command: typeof caStatusCommand, argv: string[], files = [tokenFile]) => runCommand(command, ["--ca-admin", adminUrl, ...argv], { files });

describe("meshctl ca", () => {
  it("status needs the admin token: exit 1 with the CA's 401/403 message, then the status with it", async () => {
    const missing = await run(caStatusCommand, []);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^meshctl ca status: the CA answered HTTP 401: the CA admin API needs `Authorization: Bearer <token>`/);
    const wrong = await run(caStatusCommand, ["--token-file", "wrong"], [{ path: "wrong", text: "nope" }]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain("HTTP 403: the bearer token does not match");
    const ok = await run(caStatusCommand, ["--token-file", "admin-token"]);
    expect(ok).toMatchObject({ code: 0, err: "" });
    expect(ok.out).toMatch(/^Trust domain: {2}cluster\.local\nBundle: {8}version \d+, 1 root\n {2}sha256:[0-9a-f]{16} {2}.* {2}\[active\]\nIntermediate: {2}valid until /);
    expect(ok.out).toContain("Rotation:      none under way, 0 completed");
  });

  it("rotate-root --wait follows the rotation to the retirement of the old root", { timeout: 60_000 }, async () => {
    const before = JSON.parse((await run(caStatusCommand, ["--token-file", "admin-token", "-o", "json"])).out) as CaStatusView;
    const rotated = await run(caRotateRootCommand, ["--token-file", "admin-token", "--wait", "-o", "json"]);
    expect(rotated.code).toBe(0);
    expect(rotated.err).toContain("meshctl ca rotate-root: phase published");
    const after = JSON.parse(rotated.out) as CaStatusView;
    expect(after.rotation).toMatchObject({ phase: "idle", completed: before.rotation.completed + 1 });
    expect(after.bundle.roots).toHaveLength(1);
    expect(after.activeRoot.sha256).not.toBe(before.activeRoot.sha256);
    expect(after.bundle.roots[0]?.sha256).toBe(after.activeRoot.sha256);
    expect(after.bundle.version).toBe(before.bundle.version + 2);
  });

  it("rotate-root --force warns, then finishes at once", async () => {
    const before = JSON.parse((await run(caStatusCommand, ["--token-file", "admin-token", "-o", "json"])).out) as CaStatusView;
    const forced = await run(caRotateRootCommand, ["--token-file", "admin-token", "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.err).toMatch(/^meshctl ca rotate-root: WARNING: --force switches to the new root and retires the old one without waiting/);
    expect(forced.out).toContain(`Rotation:      none under way, ${before.rotation.completed + 1} completed`);
  });

  it("exits 1 naming the flag when the CA cannot be reached, and 2 on a bad --timeout", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const { port } = closed.address() as AddressInfo;
    closed.close();
    const down = await runCommand(caStatusCommand, ["--ca-admin", `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.err).toBe(`meshctl ca status: cannot reach the CA admin API at http://127.0.0.1:${port} (ECONNREFUSED); is it running, and is --ca-admin right?\n`);
    expect((await run(caRotateRootCommand, ["--timeout", "soon"])).code).toBe(2);
  });

  it("runs as the real CLI", { timeout: 60_000 }, async () => {
    const cli = await meshctl(["ca", "status", "--ca-admin", adminUrl, "--token-file", join(dir, "admin-token")]);
    expect(cli).toMatchObject({ code: 0, stderr: "" });
    expect(cli.stdout).toContain("Trust domain:  cluster.local");
  });
});
