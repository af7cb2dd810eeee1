// Settings checks of the gossip member (keys, keyring files, join addresses), and one real start:
// two members on loopback port 0 sharing a keyring file, the second joining by retry-join.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GossipSettingsError, checkGossipOptions, decodeGossipKey, readKeyringFile, startGossip } from "./start-gossip.ts";
import type { RunningGossip } from "./start-gossip.ts";

const dir = await mkdtemp(join(tmpdir(), "gossip-settings-"));
const started: RunningGossip[] = [];
afterAll(async () => {
  await Promise.all(started.map((g) => g.close()));
  await rm(dir, { recursive: true, force: true });
});

describe("gossip settings", () => {
  it("reads a keyring file as Consul's JSON array or as one key per line", async () => {
    const [a, b] = [randomBytes(32).toString("base64"), randomBytes(16).toString("base64")];
    await writeFile(join(dir, "json.keyring"), JSON.stringify([a, b]));
    await writeFile(join(dir, "lines.keyring"), `# rotated 2026-11\n${a}\n\n${b}\n`);
    expect(readKeyringFile(join(dir, "json.keyring"))).toEqual([a, b]);
    expect(readKeyringFile(join(dir, "lines.keyring"))).toEqual([a, b]);
    await writeFile(join(dir, "bad.keyring"), "[1, 2]");
    expect(() => readKeyringFile(join(dir, "bad.keyring"))).toThrow(/expected a JSON array of base64 strings/);
    expect(() => readKeyringFile(join(dir, "missing.keyring"))).toThrow(GossipSettingsError);
  });

  it("accepts 16, 24 and 32-byte base64 keys and HOST:PORT join addresses, naming the setting otherwise", () => {
    for (const size of [16, 24, 32]) expect(decodeGossipKey(randomBytes(size).toString("base64"), "--gossip-key")).toHaveLength(size);
    expect(() => decodeGossipKey(randomBytes(20).toString("base64"), "--gossip-key")).toThrow(/^--gossip-key: a gossip key is 16, 24 or 32 bytes/);
    expect(() => decodeGossipKey("not base64!", "--gossip-key")).toThrow(GossipSettingsError);
    expect(checkGossipOptions([], ["10.0.0.5:8301", "[::1]:8301", "registry-1.mesh:8301"])).toEqual([]);
    expect(() => checkGossipOptions([], ["10.0.0.5"])).toThrow('--retry-join "10.0.0.5" is not HOST:PORT');
  });
});

describe("startGossip", { timeout: 30_000 }, () => {
  it("two encrypted members on loopback find each other through retry-join", async () => {
    const key = randomBytes(32).toString("base64");
    const settings = { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50 };
    const base = { bindHost: "127.0.0.1", port: 0, advertiseHost: "127.0.0.1", retryIntervalMs: 200, keys: [key], settings };
    const a = await startGossip({ ...base, name: "a", tags: { role: "server" }, join: [] });
    started.push(a);
    const b = await startGossip({ ...base, name: "b", tags: { role: "server" }, join: [a.address] });
    started.push(b);
    for (let i = 0; i < 200 && a.members().filter((m) => m.state === "alive").length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.members().map((m) => [m.name, m.state, m.tags["role"]])).toEqual([
      ["a", "alive", "server"],
      ["b", "alive", "server"],
    ]);
    await b.leave();
    for (let i = 0; i < 200 && a.core.member("b")?.state !== "left"; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.core.member("b")?.state).toBe("left");
  });
});
