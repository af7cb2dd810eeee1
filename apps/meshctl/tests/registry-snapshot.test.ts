// `meshctl registry snapshot save|restore|inspect` against a real registry server (apps/registry's
// entry point as a child process on loopback): save, change the state, inspect the file, restore
// it, and read the saved state back; a damaged file is refused before anything is sent.

import { freePort } from "@meshwork/testing/processes";
import { beforeAll, describe, expect, it } from "vitest";
import { registrySnapshotInspectCommand, registrySnapshotRestoreCommand, registrySnapshotSaveCommand } from "../src/commands/registry-snapshot-commands.ts";
import { runCommand } from "./support/run-command.ts";
import { eventually, useRegistryServers, type RegistryServer } from "./support/use-registry-servers.ts";

const startRegistryServer = useRegistryServers();
let n1: RegistryServer;

beforeAll(async () => {
  n1 = await startRegistryServer("n1", true, ["--dns-port", "0", "--grpc-port", "0"]);
  await eventually("n1 to lead", async () => (await (await fetch(`${n1.url}/v1/status/leader`)).json()) !== "");
}, 60_000);

async function put(path: string, body: string): Promise<void> {
  const response = await fetch(`${n1.url}${path}`, { method: "PUT", body });
  expect(response.status).toBe(200);
}

async function raw(key: string): Promise<string | number> {
  const response = await fetch(`${n1.url}/v1/kv/${key}?raw`);
  return response.status === 200 ? response.text() : response.status;
}

describe("meshctl registry snapshot", () => {
  it("saves the state, inspects the file, and restores it over later changes", async () => {
    await put("/v1/kv/app/a", "1");
    await put("/v1/kv/app/b", "2");
    await put("/v1/agent/service/register", JSON.stringify({ Name: "web", Port: 80 }));
    const files = new Map<string, Uint8Array>();

    const save = await runCommand(registrySnapshotSaveCommand, ["backup.snap", "--registry-addr", n1.url], { binaryFiles: files });
    expect(save.err).toBe("");
    expect(save.code).toBe(0);
    expect(save.out).toMatch(/^Saved snapshot of datacenter dc1 at index \d+ \(term \d+\) to backup\.snap \(\d+ bytes\)\.\n$/);
    const savedIndex = Number(/at index (\d+)/.exec(save.out)?.[1]);

    const inspect = await runCommand(registrySnapshotInspectCommand, ["backup.snap", "-o", "json"], { binaryFiles: files });
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.out)).toMatchObject({ index: savedIndex, datacenter: "dc1", kvKeys: 2, nodes: 1, services: 1, checks: 0, sessions: 0, queries: 0 });
    const text = await runCommand(registrySnapshotInspectCommand, ["backup.snap"], { binaryFiles: files });
    expect(text.out).toContain(`Index        ${savedIndex}\n`);
    expect(text.out).toContain("KV keys      2\n");
    expect(text.out).toContain("Queries      0\n");

    await put("/v1/kv/app/a", "changed");
    await fetch(`${n1.url}/v1/kv/app/b`, { method: "DELETE" });
    await put("/v1/kv/app/c", "new");

    const restore = await runCommand(registrySnapshotRestoreCommand, ["backup.snap", "--registry-addr", n1.url], { binaryFiles: files });
    expect(restore.err).toBe("");
    expect(restore.code).toBe(0);
    const at = Number(/the registry is at index (\d+)\.\n$/.exec(restore.out)?.[1]);
    expect(restore.out).toBe(`Restored the snapshot taken at index ${savedIndex} from backup.snap; the registry is at index ${at}.\n`);
    expect(at).toBeGreaterThan(savedIndex);
    expect([await raw("app/a"), await raw("app/b"), await raw("app/c")]).toEqual(["1", "2", 404]);
  }, 30_000);

  it("refuses a damaged or missing file with exit 2 before sending anything, and fails with exit 1 when no registry answers", async () => {
    const files = new Map<string, Uint8Array>();
    expect((await runCommand(registrySnapshotSaveCommand, ["good.snap", "--registry-addr", n1.url, "--stale"], { binaryFiles: files })).code).toBe(0);
    const damaged = Buffer.from(files.get("good.snap") ?? new Uint8Array(0));
    damaged[damaged.length - 3] = (damaged[damaged.length - 3] as number) ^ 0xff;
    files.set("damaged.snap", damaged);
    await put("/v1/kv/untouched", "yes");
    const refused = await runCommand(registrySnapshotRestoreCommand, ["damaged.snap", "--registry-addr", n1.url], { binaryFiles: files });
    expect(refused).toEqual({ code: 2, out: "", err: "meshctl registry snapshot restore: damaged.snap: the snapshot's SHA-256 does not match its state: the file is damaged; use another copy\n" });
    expect(await raw("untouched")).toBe("yes");
    expect(await runCommand(registrySnapshotInspectCommand, ["missing.snap"], { binaryFiles: files })).toEqual({
      code: 2,
      out: "",
      err: "meshctl registry snapshot inspect: cannot read missing.snap: no such file or directory\n",
    });
    const dead = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await runCommand(registrySnapshotSaveCommand, ["x.snap", "--registry-addr", dead], { binaryFiles: files });
    expect(unreachable).toEqual({ code: 1, out: "", err: `meshctl registry snapshot save: cannot reach the registry at ${dead} (ECONNREFUSED); is it running, and is --registry-addr right?\n` });
    expect(files.has("x.snap")).toBe(false);
  }, 30_000);
});
