// Three real processes, each one gossip member on 127.0.0.1 (UDP + TCP, port 0) running the real
// core through GossipTransport: they join through one seed, a SIGKILLed member is declared dead by
// the others, a member that leaves is seen as left. Each child is a short inline program; it
// prints its address and the core's events as JSON lines and takes commands on stdin.
import { eventually, ProcessGroup, type StartedProcess } from "@meshwork/testing/processes";
import { afterEach, describe, expect, it } from "vitest";

const adapterUrl = new URL("./gossip-transport.ts", import.meta.url).href;

const childProgram = `
const { GossipTransport } = await import(process.env.GOSSIP_ADAPTER_URL);
const { Memberlist } = await import("@meshwork/gossip");
const name = process.env.GOSSIP_NAME;
const settings = { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50, suspicionMult: 2, suspicionMaxTimeoutMult: 3, pushPullIntervalMs: 2000 };
const transport = await GossipTransport.start({
  bindHost: "127.0.0.1",
  port: 0,
  createCore: (address) => new Memberlist({ name, address, nowMs: Date.now(), random: Math.random, settings }),
  onEvent: (e) => console.log(JSON.stringify({ event: e.type, member: e.member?.name })),
});
console.log(JSON.stringify({ address: transport.address }));
let buffered = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", async (chunk) => {
  buffered += chunk;
  for (let i = buffered.indexOf("\\n"); i >= 0; i = buffered.indexOf("\\n")) {
    const [command, arg] = buffered.slice(0, i).split(" ");
    buffered = buffered.slice(i + 1);
    if (command === "join") transport.act((core) => core.join([arg]));
    if (command === "leave") {
      await transport.leave();
      console.log(JSON.stringify({ left: true }));
      process.exit(0);
    }
  }
});
`;

interface Child {
  readonly process: StartedProcess;
  readonly address: string;
}

const processes = new ProcessGroup();

async function startChild(name: string): Promise<Child> {
  const started = processes.start(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", "--input-type=module", "-e", childProgram], {
    name,
    env: { GOSSIP_ADAPTER_URL: adapterUrl, GOSSIP_NAME: name },
    stdin: "pipe",
  });
  const { address } = await started.waitForLine((l) => typeof l["address"] === "string", 30_000);
  return { process: started, address: address as string };
}

const saw = (child: Child, event: string, member: string) => child.process.lines().some((l) => l["event"] === event && l["member"] === member);

afterEach(() => processes.killAll());

describe("gossip members in separate processes", { timeout: 120_000 }, () => {
  it("join through a seed, detect a SIGKILLed member, see a leaving member as left", async () => {
    const [a, b, c] = await Promise.all([startChild("a"), startChild("b"), startChild("c")]);
    if (!a || !b || !c) throw new Error("children did not start");
    b.process.write(`join ${a.address}\n`);
    c.process.write(`join ${a.address}\n`);
    await eventually("everyone sees everyone", () => saw(a, "member-joined", "b") && saw(a, "member-joined", "c") && saw(b, "member-joined", "c") && saw(c, "member-joined", "b"));

    c.process.kill("SIGKILL");
    await eventually("a and b declare c dead", () => saw(a, "member-failed", "c") && saw(b, "member-failed", "c"));

    b.process.write("leave\n");
    await eventually("a sees b as left", () => saw(a, "member-left", "b"));
    expect(saw(a, "member-failed", "b")).toBe(false);
  });
});
