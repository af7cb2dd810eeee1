// A sidecar registering its workload through its node's registry agent, all real processes on
// loopback: a registry server, a `meshwork-registry agent --http-port 0` joined to it by gossip, and
// a sidecar with --registry-agent. The instance shows passing on the server (the agent runs its
// check on the sidecar's /healthz/ready); SIGTERM of the sidecar deregisters it; a second sidecar
// registers again, and SIGKILL of the agent takes the instance out of ?passing (its node's
// serfHealth goes critical through gossip). No timing is asserted: every wait is a generous poll.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventually as poll, freePort, ProcessGroup, type StartedProcess } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";
import { startSidecarProcess, workspaceRoot, type SidecarProcess } from "../../tests/support/sidecar-process.ts";
import { serviceEntryYaml, startUpstream, type UpstreamServer } from "../../tests/support/upstream-server.ts";

const registryMain = fileURLToPath(new URL("../../../registry/src/main.ts", import.meta.url));

const processes = new ProcessGroup();
const sidecars: SidecarProcess[] = [];
let app: UpstreamServer | undefined;
afterAll(async () => {
  for (const sidecar of sidecars) if (sidecar.child.exitCode === null) sidecar.child.kill("SIGKILL");
  await Promise.all([processes.close(), ...sidecars.map((s) => s.exited)]);
  await app?.close();
});

const runRegistry = (name: string, args: readonly string[]): StartedProcess => processes.startSource(registryMain, args, { cwd: workspaceRoot, name });

function tails(): string {
  const proxies = sidecars.map((s, i) => `--- sidecar ${i + 1}\n${s.lines.slice(-10).join("\n")}`);
  return [processes.tails(10), ...proxies].join("\n");
}

/** Polls until `attempt` gives a value (generous deadline: 2 shared cores; no timing is asserted). */
const eventually = <T,>(what: string, attempt: () => Promise<T | undefined>) => poll(what, attempt, { timeoutMs: 60_000, context: tails });

interface HealthEntry {
  Node: { Node: string };
  Service: { ID: string; Service: string; Address: string; Port: number; Tags: string[]; Meta: Record<string, string> };
  Checks: { CheckID: string; Status: string; ServiceID: string }[];
}

const gossipFlags = ["--gossip-port", "0", "--gossip-probe-interval-ms", "200", "--gossip-suspicion-mult", "2", "--retry-interval-ms", "300"];

describe("a sidecar registered through its node's registry agent", () => {
  it("is passing on the server, deregistered on SIGTERM, and leaves ?passing when the agent is SIGKILLed", { timeout: 180_000 }, async () => {
    const dir = await processes.tempDir("sidecar-registry-agent-");
    const raftPort = await freePort();
    const server = runRegistry("server n1", [
      "--node-id", "n1", "--peers", `n1=127.0.0.1:${raftPort}`, "--data-dir", join(dir, "n1"), "--raft-port", String(raftPort), "--http-port", "0",
      "--admin-port", "0", "--dns-port=-1", "--grpc-port=-1", "--tick-ms", "20", ...gossipFlags,
    ]);
    const ready = await server.waitForLine("ready");
    const http = `http://127.0.0.1:${String(ready["httpPort"])}`;
    const getJson = async <T,>(path: string): Promise<T> => {
      const response = await fetch(`${http}/v1/${path}`);
      if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };
    const agent = runRegistry("agent node-a", ["agent", "--server", http, "--node", "node-a", "--http-port", "0", "--sync-interval", "1s", "--retry-join", String(ready["gossipAddress"]), ...gossipFlags]);
    const agentRunning = await agent.waitForLine("agent running");
    const agentUrl = `http://127.0.0.1:${String(agentRunning["httpPort"])}`;
    await eventually("the agent in the server's members", async () => {
      const members = await getJson<{ Name: string; Status: number }[]>("agent/members");
      return members.some((m) => m.Name === "node-a" && m.Status === 1) ? true : undefined;
    });

    app = await startUpstream("v1");
    const configDir = join(dir, "config");
    await mkdir(configDir);
    await writeFile(join(configDir, "backend.yaml"), serviceEntryYaml("backend.test", 80, [app]));
    const startSidecar = async (workload: string) => {
      const sidecar = await startSidecarProcess([
        "--config", configDir, "--labels", "app=web,version=v1", "--workload-name", workload, "--app-port", String(app?.port), "--registry-agent", agentUrl, "--drain-seconds", "1",
      ]);
      sidecars.push(sidecar);
      return sidecar;
    };
    const passing = async (): Promise<HealthEntry[]> => getJson<HealthEntry[]>("health/service/web?passing");

    // 1. Registered through the agent, its check passing: the instance is in ?passing.
    const first = await startSidecar("web-1");
    const [entry] = await eventually("web-1 passing", async () => {
      const entries = await passing();
      return entries.length === 1 ? entries : undefined;
    });
    expect(entry?.Node.Node).toBe("node-a");
    expect(entry?.Service).toMatchObject({ ID: "web-1", Service: "web", Address: "127.0.0.1", Port: first.ports["inbound"], Tags: ["v1"], Meta: { app: "web", version: "v1", namespace: "default" } });
    expect(entry?.Checks.map((c) => [c.CheckID, c.Status]).sort()).toEqual([
      ["serfHealth", "passing"],
      ["service:web-1", "passing"],
    ]);

    // 2. SIGTERM: the sidecar deregisters before it drains; the catalog has no web instance left.
    expect(await first.stop()).toBe(0);
    expect(first.lines.some((l) => l.includes("deregistered from the registry agent"))).toBe(true);
    await eventually("web-1 deregistered", async () => ((await getJson<unknown[]>("catalog/service/web")).length === 0 ? true : undefined));

    // 3. A new sidecar registers; SIGKILL of the agent: serfHealth critical, the instance leaves ?passing.
    await startSidecar("web-2");
    await eventually("web-2 passing", async () => ((await passing()).some((e) => e.Service.ID === "web-2") ? true : undefined));
    agent.kill("SIGKILL");
    await agent.exit;
    await eventually("web-2 out of ?passing", async () => ((await passing()).length === 0 ? true : undefined));
    const all = await getJson<HealthEntry[]>("health/service/web");
    expect(all.map((e) => e.Service.ID)).toEqual(["web-2"]);
    expect(all[0]?.Checks.find((c) => c.CheckID === "serfHealth")?.Status).toBe("critical");
  });
});
