// Prepared queries and user events on three real registry processes (src/main.ts: Raft on disk,
// gossip on, DNS on, a Raft snapshot every few entries): a query created through a follower
// survives a SIGKILL of the leader — the new leader executes it, and `dig` over UDP gets its
// instances with its DNS TTL — is updated after the failover, and the killed server, restarted
// from its data dir, serves the updated query too. An event fired on one server is listed, with
// the same id, by the others (spread over the gossip pool).
import { join } from "node:path";
import { dig as digAt } from "@meshwork/testing/dig";
import { eventually as poll, freePort, ProcessGroup, type StartedProcess } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
const processes = new ProcessGroup();
afterAll(() => processes.close());

const runRegistry = (args: readonly string[]): StartedProcess => processes.startSource("src/main.ts", args, { cwd: projectRoot, name: `server ${args[1] ?? ""}` });
const eventually = <T,>(what: string, attempt: () => Promise<T | undefined>) => poll(what, attempt, { timeoutMs: 30_000, intervalMs: 100, context: () => processes.tails(15) });

interface Execution {
  Service: string;
  Nodes: { Node: { Node: string }; Service: { ID: string } }[];
  DNS: { TTL: string };
  Failovers: number;
}
interface EventJson {
  ID: string;
  Name: string;
  Payload: string | null;
  LTime: number;
}

/** `dig` over UDP: status and answer records as "name ttl class type data". */
async function dig(port: number, name: string, type: string): Promise<{ status: string; answer: readonly string[] }> {
  const { status, answer } = await digAt(port, "+notcp", name, type);
  return { status, answer };
}

describe("prepared queries and user events on three registry processes", () => {
  it("a query survives the leader's SIGKILL and a restart, and is answered over DNS; events reach every server", { timeout: 180_000 }, async () => {
    const dir = await processes.tempDir("meshwork-registry-queries-");
    const ids = ["n1", "n2", "n3"] as const;
    const raftPorts = await Promise.all(ids.map(() => freePort()));
    const httpPorts = await Promise.all(ids.map(() => freePort()));
    const peers = ids.map((id, k) => `${id}=127.0.0.1:${raftPorts[k]}`).join(",");
    const args = (k: number, join: readonly string[]) => [
      "--node-id", ids[k] as string, "--peers", peers, "--data-dir", `${dir}/${ids[k]}`, "--raft-port", String(raftPorts[k]), "--http-port", String(httpPorts[k]),
      "--admin-port", "0", "--dns-port", "0", "--grpc-port=-1", "--tick-ms", "20", "--snapshot-every", "5",
      "--gossip-port", "0", "--gossip-probe-interval-ms", "200", "--retry-interval-ms", "300", ...(join.length > 0 ? ["--retry-join", join.join(",")] : []),
    ];
    const url = (k: number, path: string) => `http://127.0.0.1:${httpPorts[k]}/v1/${path}`;
    const call = async (k: number, method: string, path: string, body?: unknown) => {
      const response = await fetch(url(k, path), { method, ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) });
      const text = await response.text();
      const isJson = response.headers.get("content-type") === "application/json";
      return { status: response.status, text, json: isJson ? (JSON.parse(text) as unknown) : undefined };
    };
    // A write around a leader change may fail with an unknown outcome (500 "no outcome…", "No
    // cluster leader", 307): idempotent writes are retried; a create first looks for its query.
    const idempotent = async (k: number, method: string, path: string, body: unknown) =>
      eventually(`${method} ${path} on n${k + 1}`, async () => {
        const answer = await call(k, method, path, body);
        return answer.status === 200 ? answer : undefined;
      });
    const createQuery = async (k: number, body: { readonly Name: string } & Record<string, unknown>) =>
      eventually(`query ${body.Name} created through n${k + 1}`, async () => {
        const existing = ((await call(k, "GET", "query?consistent")).json ?? []) as { ID: string; Name: string }[];
        const found = existing.find((q) => q.Name === body.Name);
        if (found !== undefined) return found.ID;
        const answer = await call(k, "POST", "query", body);
        return answer.status === 200 ? (answer.json as { ID: string }).ID : undefined;
      });

    // n1 first, the others join its gossip pool.
    const runs: StartedProcess[] = [runRegistry(args(0, []))];
    const firstReady = await (runs[0] as StartedProcess).waitForLine("ready");
    const seed = String(firstReady["gossipAddress"]);
    runs.push(runRegistry(args(1, [seed])), runRegistry(args(2, [seed])));
    const ready = [firstReady, ...(await Promise.all(runs.slice(1).map((run) => run.waitForLine("ready"))))];
    const dnsPorts = ready.map((line) => Number(line["dnsPort"]));
    const gossipAddresses = ready.map((line) => String(line["gossipAddress"]));
    for (const k of [0, 1, 2]) {
      await eventually(`n${k + 1} to see three gossip members`, async () => {
        const members = (await call(k, "GET", "agent/members")).json as { Status: number }[];
        return members.length === 3 && members.every((m) => m.Status === 1) ? true : undefined;
      });
    }
    const leaderOf = async (k: number, not?: number): Promise<number> =>
      eventually("a leader", async () => {
        const answer = (await call(k, "GET", "status/leader")).json as string;
        const leader = httpPorts.findIndex((port) => answer.endsWith(`:${port}`));
        return leader >= 0 && leader !== not ? leader : undefined;
      });
    const leader = await leaderOf(0);
    const [f1, f2] = [0, 1, 2].filter((k) => k !== leader) as [number, number];

    // Two instances of web, and two queries created through the followers.
    for (const [node, tag] of [
      ["app-1", "primary"],
      ["app-2", "canary"],
    ] as const) {
      await idempotent(f1, "PUT", "catalog/register", {
        Node: node,
        Address: `10.1.0.${node.slice(-1)}`,
        Service: { ID: `web-${tag}`, Service: "web", Tags: [tag], Port: 8080 },
        Check: { CheckID: `${node}-alive`, Name: "alive", Status: "passing", ServiceID: `web-${tag}` },
      });
    }
    const queryId = await createQuery(f1, { Name: "web-stable", Service: { Service: "web", Tags: ["!canary"] }, DNS: { TTL: "7s" } });
    await createQuery(f2, { Name: "tagged-", Template: { Type: "name_prefix_match", Regexp: "^tagged-(.+)$" }, Service: { Service: "web", Tags: ["${match(1)}"] } });

    // An event fired on one follower reaches every server, with the same id.
    const fired = await call(f1, "PUT", "event/fire/deploy", "v2");
    expect(fired.status, fired.text).toBe(200);
    const event = fired.json as EventJson;
    for (const k of [0, 1, 2]) {
      const seen = await eventually(`n${k + 1} to list the event`, async () => {
        const list = (await call(k, "GET", "event/list?name=deploy")).json as EventJson[];
        return list.length === 1 ? list[0] : undefined;
      });
      expect(seen).toMatchObject({ ID: event.ID, Name: "deploy", Payload: Buffer.from("v2").toString("base64") });
      expect(seen?.LTime).toBeGreaterThan(0);
    }

    // SIGKILL the leader: the others elect a new one, which executes the query.
    const killed = runs[leader] as StartedProcess;
    killed.kill("SIGKILL");
    await killed.exit;
    const newLeader = await leaderOf(f1, leader);
    const execution = await eventually("the query executed on the new leader", async () => {
      const answer = await call(newLeader, "GET", "query/web-stable/execute");
      return answer.status === 200 ? (answer.json as Execution) : undefined;
    });
    expect({ ...execution, Nodes: execution.Nodes.map((n) => n.Node.Node) }).toMatchObject({ Service: "web", Nodes: ["app-1"], DNS: { TTL: "7s" }, Failovers: 0 });

    // DNS over UDP on a survivor: the query's instances with its TTL, a template, NXDOMAIN for an unknown query.
    const survivor = newLeader === f1 ? f2 : f1;
    expect(await dig(dnsPorts[survivor] as number, "web-stable.query.consul", "A")).toEqual({ status: "NOERROR", answer: ["web-stable.query.consul. 7 IN A 10.1.0.1"] });
    expect(await dig(dnsPorts[survivor] as number, "tagged-canary.query.consul", "SRV")).toEqual({ status: "NOERROR", answer: ["tagged-canary.query.consul. 0 IN SRV 1 1 8080 app-2.node.dc1.consul."] });
    expect((await dig(dnsPorts[survivor] as number, "nope.query.consul", "A")).status).toBe("NXDOMAIN");

    // Updated after the failover, through a follower when there is one.
    await idempotent(survivor, "PUT", `query/${queryId}`, { Name: "web-stable", Service: { Service: "web", Tags: ["canary"] }, DNS: { TTL: "9s" } });

    // The killed server, restarted from its data dir (Raft snapshot + WAL, then the log from the leader), serves the updated query.
    const back = runRegistry(args(leader, [gossipAddresses[survivor] as string]));
    runs[leader] = back;
    const backReady = await back.waitForLine("ready");
    // "ready" comes after the local snapshot and WAL are applied: both queries are there before any catch-up.
    expect(((await call(leader, "GET", "query?stale")).json as { ID: string }[]).map((q) => q.ID)).toContain(queryId);
    const restarted = await eventually("the restarted server to have the update", async () => {
      const answer = await call(leader, "GET", `query/${queryId}?stale`);
      const [query] = (answer.json ?? []) as { Service: { Tags: string[] }; DNS: { TTL: string } }[];
      return answer.status === 200 && query?.DNS.TTL === "9s" ? query : undefined;
    });
    expect(restarted.Service.Tags).toEqual(["canary"]);
    expect(((await call(leader, "GET", "query?stale")).json as { Name: string }[]).map((q) => q.Name).sort()).toEqual(["tagged-", "web-stable"]);
    expect(await dig(Number(backReady["dnsPort"]), "web-stable.query.consul", "A")).toEqual({ status: "NOERROR", answer: ["web-stable.query.consul. 9 IN A 10.1.0.2"] });

    for (const run of runs) run.kill("SIGTERM");
    for (const run of runs) expect(await run.exit).toBe(0);
  });
});
