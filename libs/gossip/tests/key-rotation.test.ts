// Gossip key rotation over the pool's own internal queries (serf's KeyManager), in a seeded
// simulated pool whose packets are really sealed with AES-GCM: install → use → remove reaches every
// member, traffic keeps flowing through the rotation, the primary key cannot be removed, and a member
// that does not answer is counted as an error.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeyManager, Keyring, encodeKey } from "../src/index.ts";
import type { KeyOperation, KeyOperationResult } from "../src/index.ts";
import { aesGcm } from "./aes-gcm.ts";
import { GossipSim } from "./gossip-sim.ts";

const k1 = new Uint8Array(randomBytes(32));
const k2 = new Uint8Array(randomBytes(32));

interface Pool {
  readonly sim: GossipSim;
  readonly rings: Map<string, Keyring>;
  readonly saved: Map<string, string[]>;
  readonly managers: Map<string, KeyManager>;
}

function encryptedPool(seed: number, count: number): Pool {
  const pending: Keyring[] = [];
  const sim = new GossipSim({ seed, crypto: { keyring: () => pending.shift() ?? new Keyring([k1]), cipher: aesGcm } });
  const rings = new Map<string, Keyring>();
  const saved = new Map<string, string[]>();
  const managers = new Map<string, KeyManager>();
  for (let i = 0; i < count; i++) {
    const name = `n${i}`;
    const ring = new Keyring([k1]);
    pending.push(ring);
    rings.set(name, ring);
    managers.set(name, new KeyManager({ keyring: ring, onKeyringChanged: (keys) => void saved.set(name, keys.map(encodeKey)) }));
    sim.add(name);
  }
  sim.onEvent = (event, core) => void managers.get(event.at)?.handle(core, event.event);
  for (let i = 1; i < count; i++) sim.act(`n${i}`, (core) => core.join(["n0"]));
  sim.runFor(20_000);
  return { sim, rings, saved, managers };
}

/** Sends one key operation from `from`, runs the pool past its query timeout, returns the tally. */
async function rotate(pool: Pool, from: string, operation: KeyOperation, key: Uint8Array | undefined): Promise<KeyOperationResult> {
  let sent: Promise<KeyOperationResult> | undefined;
  pool.sim.act(from, (core) => (sent = pool.managers.get(from)?.send(core, operation, key, { timeoutMs: 2_000 })));
  pool.sim.runFor(2_500);
  let done = false;
  void sent?.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  if (sent === undefined || !done) throw new Error(`${operation} did not complete within its simulated timeout`);
  return sent;
}

const allAlive = (pool: Pool) => [...pool.sim.nodes.values()].every((node) => node.crashed || node.core.members().every((m) => m.state === "alive"));

describe("gossip keyring operations over internal queries", () => {
  it("install → use → remove rotates every member's keyring while the pool stays healthy", async () => {
    const pool = encryptedPool(11, 5);
    expect(allAlive(pool)).toBe(true);

    const installed = await rotate(pool, "n2", "install", k2);
    expect(installed).toMatchObject({ numNodes: 5, numResp: 5, numErr: 0 });
    for (const ring of pool.rings.values()) expect(ring.keys.map(encodeKey)).toEqual([encodeKey(k1), encodeKey(k2)]);

    const used = await rotate(pool, "n0", "use", k2);
    expect(used).toMatchObject({ numNodes: 5, numResp: 5, numErr: 0 });
    for (const ring of pool.rings.values()) expect(encodeKey(ring.primaryKey)).toBe(encodeKey(k2));
    // Traffic sealed with the new key is opened everywhere: a user event still reaches all members.
    pool.sim.act("n4", (core) => void core.userEvent("after-use", Uint8Array.of(1)));
    pool.sim.runFor(5_000);
    expect(pool.sim.events.filter((e) => e.event.type === "user-event-received" && e.event.name === "after-use").length).toBe(5);

    const refused = await rotate(pool, "n1", "remove", k2);
    expect(refused.numErr).toBe(5);
    expect(Object.values(refused.messages).every((m) => /primary key is not allowed/.test(m))).toBe(true);

    const removed = await rotate(pool, "n3", "remove", k1);
    expect(removed).toMatchObject({ numNodes: 5, numResp: 5, numErr: 0 });
    const listed = await rotate(pool, "n1", "list", undefined);
    expect(listed.keys).toEqual({ [encodeKey(k2)]: 5 });
    expect(listed.primaryKeys).toEqual({ [encodeKey(k2)]: 5 });
    // Every member persisted its final keyring, primary first.
    for (const name of pool.rings.keys()) expect(pool.saved.get(name)).toEqual([encodeKey(k2)]);

    pool.sim.runFor(30_000);
    expect(allAlive(pool)).toBe(true);
    expect(pool.sim.events.filter((e) => e.event.type === "member-failed")).toEqual([]);
  });

  it("using a key that is not installed fails on every member and changes nothing", async () => {
    const pool = encryptedPool(12, 3);
    const result = await rotate(pool, "n0", "use", k2);
    expect(result.numErr).toBe(3);
    expect(Object.keys(result.messages).sort()).toEqual(["n0", "n1", "n2"]);
    expect(result.messages.n1).toMatch(/not installed: install it first/);
    for (const ring of pool.rings.values()) expect(encodeKey(ring.primaryKey)).toBe(encodeKey(k1));
    expect(pool.saved.size).toBe(0);
  });

  it("a member that misses the query is counted in the errors with a message", async () => {
    const pool = encryptedPool(13, 4);
    pool.sim.crash("n3");
    const result = await rotate(pool, "n0", "install", k2);
    expect(result.numNodes).toBe(4);
    expect(result.numResp).toBe(3);
    expect(result.numErr).toBe(1);
    expect(result.messages.n3).toMatch(/no answer before the query timeout/);
  });
});
