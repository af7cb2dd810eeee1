// `meshctl registry keyring list|install|use|remove` against a real registry server with encrypted
// gossip (apps/registry's entry point as a child process on loopback): a full rotation K1 → K2,
// the registry's refusals (use before install, removing the primary) as exit 1 with its text, a bad
// key as a usage error, and a server without gossip.

import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { registryKeyringInstallCommand, registryKeyringListCommand, registryKeyringRemoveCommand, registryKeyringUseCommand } from "../src/commands/registry-keyring-commands.ts";
import { runCommand } from "./support/run-command.ts";
import { useRegistryServers, type RegistryServer } from "./support/use-registry-servers.ts";

const startRegistryServer = useRegistryServers();
const k1 = randomBytes(32).toString("base64");
const k2 = randomBytes(16).toString("base64");
let encrypted: RegistryServer;
let plain: RegistryServer;

beforeAll(async () => {
  encrypted = await startRegistryServer("n1", true, ["--dns-port=-1", "--grpc-port=-1", "--gossip-port", "0", "--gossip-key", k1]);
  plain = await startRegistryServer("p1", true, ["--dns-port=-1", "--grpc-port=-1"]);
}, 60_000);

describe("meshctl registry keyring", () => {
  it("rotates the gossip key: install, use, remove, listing the counts at each step", async () => {
    const addr = ["--registry-addr", encrypted.url];
    const before = await runCommand(registryKeyringListCommand, addr);
    expect(before).toEqual({ code: 0, out: ["dc1 (LAN), 1 member:", `  KEY${" ".repeat(k1.length - 3)}  INSTALLED  PRIMARY`, `  ${k1}  1/1        1/1`, ""].join("\n"), err: "" });

    expect(await runCommand(registryKeyringInstallCommand, [k2, ...addr])).toEqual({ code: 0, out: "Installed the key on every member.\n", err: "" });
    const json = await runCommand(registryKeyringListCommand, [...addr, "-o", "json"]);
    expect(JSON.parse(json.out)).toEqual([{ WAN: false, Datacenter: "dc1", Segment: "", Keys: { [k1]: 1, [k2]: 1 }, PrimaryKeys: { [k1]: 1 }, NumNodes: 1, Messages: {} }]);

    expect(await runCommand(registryKeyringUseCommand, [k2, ...addr])).toEqual({ code: 0, out: "Every member now encrypts with the key.\n", err: "" });
    const primaryGone = await runCommand(registryKeyringRemoveCommand, [k2, ...addr]);
    expect(primaryGone.code).toBe(1);
    expect(primaryGone.err).toContain("HTTP 500: dc1 (LAN) error: 1/1 nodes reported failure");
    expect(primaryGone.err).toContain("n1: removing the primary key is not allowed");
    expect(await runCommand(registryKeyringRemoveCommand, [k1, ...addr])).toEqual({ code: 0, out: "Removed the key from every member.\n", err: "" });
    const after = await runCommand(registryKeyringListCommand, addr);
    expect(after.out).toContain(`  ${k2}  1/1        1/1`);
    expect(after.out).not.toContain(k1);
  }, 30_000);

  it("reports refusals, bad keys and a server without gossip", async () => {
    const addr = ["--registry-addr", encrypted.url];
    const notInstalled = await runCommand(registryKeyringUseCommand, [randomBytes(32).toString("base64"), ...addr]);
    expect(notInstalled.code).toBe(1);
    expect(notInstalled.err).toContain("key is not installed: install it first");
    const badKey = await runCommand(registryKeyringInstallCommand, ["c2hvcnQ=", ...addr]);
    expect(badKey.code).toBe(2);
    expect(badKey.err).toContain("a gossip key is 16, 24 or 32 bytes in base64");
    expect(registryKeyringInstallCommand.prepare(addr, {})).toMatchObject({ type: "usage-error", message: expect.stringContaining("expected 1 argument(s) besides flags, got 0") });
    const noGossip = await runCommand(registryKeyringListCommand, ["--registry-addr", plain.url]);
    expect(noGossip.code).toBe(2);
    expect(noGossip.err).toContain("gossip is off on this server: start it with --gossip-port");
    const unreachable = await runCommand(registryKeyringListCommand, ["--registry-addr", "http://127.0.0.1:1"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain("cannot reach the registry");
  }, 30_000);
});
