// Real sockets on 127.0.0.1 (port 0), real timers, the real gossip core: members join through one
// seed, a member closed without leaving is detected as failed, a member that leaves is seen as
// left, encrypted clusters reject a member with the wrong key. Waits are for outcomes, not times.
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { Keyring, Memberlist } from "@meshwork/gossip";
import type { GossipEvent } from "@meshwork/gossip";
import { afterEach, describe, expect, it } from "vitest";
import { aesGcmCipher } from "./aes-gcm-cipher.ts";
import { GossipTransport } from "./gossip-transport.ts";

type Event = GossipEvent;

// Fast protocol periods so the test finishes in seconds of real time.
const settings = {
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  gossipIntervalMs: 50,
  suspicionMult: 2,
  suspicionMaxTimeoutMult: 3,
  pushPullIntervalMs: 2_000,
};

const started: GossipTransport<Event>[] = [];

async function startMember(name: string, keyring?: () => Keyring): Promise<{ transport: GossipTransport<Event>; events: Event[] }> {
  const events: Event[] = [];
  const transport = await GossipTransport.start<Event>({
    bindHost: "127.0.0.1",
    port: 0,
    createCore: (address) =>
      new Memberlist({
        name,
        address,
        nowMs: Date.now(),
        random: Math.random,
        settings,
        ...(keyring ? { keyring: keyring(), cipher: aesGcmCipher } : {}),
      }),
    onEvent: (event) => events.push(event),
  });
  started.push(transport);
  return { transport, events };
}

async function eventually(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const core = (t: GossipTransport<Event>) => t.core as Memberlist;

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()));
});

describe("GossipTransport on loopback", { timeout: 60_000 }, () => {
  it("four members join through one seed, detect a killed member and see a leaving one as left", async () => {
    const members = await Promise.all(["a", "b", "c", "d"].map((name) => startMember(name)));
    const [a, b, c, d] = members.map((m) => m.transport) as [GossipTransport<Event>, GossipTransport<Event>, GossipTransport<Event>, GossipTransport<Event>];
    for (const t of [b, c, d]) t.act((m) => (m as Memberlist).join([a.address]));
    await eventually("all four see four live members", () => [a, b, c, d].every((t) => core(t).liveMembers === 4));

    await c.close(); // killed: no leave message
    await eventually("a, b and d declare c dead", () => [a, b, d].every((t) => core(t).member("c")?.state === "dead"));
    expect(members[0]?.events.some((e) => e.type === "member-failed" && e.member.name === "c")).toBe(true);

    await d.leave();
    await eventually("a and b see d as left", () => [a, b].every((t) => core(t).member("d")?.state === "left"));
    expect(members[1]?.events.some((e) => e.type === "member-failed" && e.member.name === "d")).toBe(false);
  });

  it("with a keyring, members sharing the key join; one with another key is dropped and counted", async () => {
    const key = randomBytes(32);
    const a = await startMember("a", () => new Keyring([key]));
    const b = await startMember("b", () => new Keyring([key]));
    const x = await startMember("x", () => new Keyring([randomBytes(32)]));
    b.transport.act((m) => (m as Memberlist).join([a.transport.address]));
    x.transport.act((m) => (m as Memberlist).join([a.transport.address]));
    await eventually("a and b see each other", () => core(a.transport).liveMembers === 2 && core(b.transport).liveMembers === 2);
    await eventually("a counted x's join as unauthenticated", () => (core(a.transport).stats.dropped.unauthenticated ?? 0) >= 1);
    expect(core(a.transport).member("x")).toBeUndefined();

    // A garbage datagram is counted, not thrown.
    const raw = createSocket("udp4");
    const [host, port] = a.transport.address.split(":") as [string, string];
    await new Promise<void>((resolve) => raw.send(Uint8Array.of(0x80, 1, 2, 3), Number(port), host, () => resolve()));
    raw.close();
    await eventually("a counted the garbage datagram", () => (core(a.transport).stats.dropped.truncated ?? 0) >= 1);
  });
});
