// The real entry point as three child processes on loopback: they bootstrap from --peers, elect a
// leader, accept a KV write through any member's Consul HTTP API and serve it consistently from
// the others; SIGTERM on the leader is a graceful leave (leadership handed over, exit 0) and the
// rest keep serving writes. Bad flags exit 2 naming the flag.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually, freePort, ProcessGroup, type StartedProcess } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
const processes = new ProcessGroup();
afterAll(() => processes.close());

type Run = StartedProcess;
const runRegistry = (args: readonly string[]): Run => processes.startSource("src/main.ts", args, { cwd: projectRoot, name: `registry ${args[1] ?? ""}` });

const retry = <T,>(what: string, attempt: () => Promise<T | undefined>) => eventually(what, attempt, { timeoutMs: 20_000, intervalMs: 50 });

describe("the registry process", () => {
  it("runs a 3-node cluster, serves writes and consistent reads over HTTP, and leaves gracefully on SIGTERM", { timeout: 90_000 }, async () => {
    const dir = await processes.tempDir("meshwork-registry-proc-");
    const ids = ["n1", "n2", "n3"];
    const raftPorts = await Promise.all(ids.map(() => freePort()));
    const httpPorts = await Promise.all(ids.map(() => freePort()));
    const peers = ids.map((id, k) => `${id}=127.0.0.1:${raftPorts[k]}`).join(",");
    const runs = ids.map((id, k) =>
      runRegistry(["--node-id", id, "--peers", peers, "--data-dir", join(dir, id), "--raft-port", String(raftPorts[k]), "--http-port", String(httpPorts[k]), "--admin-port", "0", "--dns-port", "0", "--grpc-port", "0", "--tick-ms", "20"]),
    );
    for (const run of runs) await run.waitForLine("ready");
    const url = (k: number, path: string) => `http://127.0.0.1:${httpPorts[k]}/v1/${path}`;

    const leaderAddress = await retry("a leader", async () => {
      const answer = (await (await fetch(url(0, "status/leader"))).json()) as string;
      return answer === "" ? undefined : answer;
    });
    const leader = httpPorts.findIndex((port) => leaderAddress.endsWith(`:${port}`));
    expect(leader).toBeGreaterThanOrEqual(0);
    const followers = [0, 1, 2].filter((k) => k !== leader);
    const [f1, f2] = followers as [number, number];

    // A write through a follower (forwarded to the leader), read consistently from the other follower.
    const put = await fetch(url(f1, "kv/app/config"), { method: "PUT", body: "hello" });
    expect(put.status).toBe(200);
    expect(await put.text()).toContain("true");
    const get = await fetch(url(f2, "kv/app/config?consistent"));
    expect(get.status).toBe(200);
    const [entry] = (await get.json()) as { Key: string; Value: string }[];
    expect(entry?.Key).toBe("app/config");
    expect(Buffer.from(entry?.Value ?? "", "base64").toString()).toBe("hello");

    // Graceful leave of the leader.
    const leaderRun = runs[leader] as Run;
    leaderRun.kill("SIGTERM");
    expect(await leaderRun.exit).toBe(0);
    expect(leaderRun.lines().some((l) => l["msg"] === "transferring leadership before leaving")).toBe(true);
    await retry("a write after the leader left", async () => {
      const again = await fetch(url(f1, "kv/app/after"), { method: "PUT", body: "still here" });
      return again.status === 200 ? true : undefined;
    });
    const after = await fetch(url(f2, "kv/app/after?consistent"));
    expect(after.status).toBe(200);

    for (const k of followers) (runs[k] as Run).kill("SIGTERM");
    for (const k of followers) expect(await (runs[k] as Run).exit).toBe(0);
  });

  it("exits 2 naming the flag when --peers is malformed or --node-id is missing", { timeout: 30_000 }, async () => {
    const bad = runRegistry(["--node-id", "n1", "--peers", "n1"]);
    expect(await bad.exit).toBe(2);
    expect(bad.lines().find((l) => l["level"] === "error")?.["msg"]).toBe('invalid --peers entry "n1": expected ID=HOST:PORT, e.g. n1=10.0.0.1:8300');
    const missing = runRegistry([]);
    expect(await missing.exit).toBe(2);
    expect(missing.stderr()).toContain("--node-id");
  });

  it("refuses to start on a WAL damaged in the middle, exit 1 naming the file and the fix", { timeout: 60_000 }, async () => {
    const dir = await processes.tempDir("meshwork-registry-proc-");
    const dataDir = join(dir, "n1");
    const [raftPort, httpPort] = [await freePort(), await freePort()];
    const args = ["--node-id", "n1", "--peers", `n1=127.0.0.1:${raftPort}`, "--data-dir", dataDir, "--raft-port", String(raftPort), "--http-port", String(httpPort), "--admin-port", "0", "--dns-port", "0", "--grpc-port", "0", "--tick-ms", "20"];
    const first = runRegistry(args);
    await first.waitForLine("ready");
    for (let k = 0; k < 5; k++) {
      await retry("a write on the single-node cluster", async () => {
        const put = await fetch(`http://127.0.0.1:${httpPort}/v1/kv/k${k}`, { method: "PUT", body: "x".repeat(200) });
        return put.status === 200 ? true : undefined;
      });
    }
    first.kill("SIGTERM");
    expect(await first.exit).toBe(0);

    const segment = (await readdir(dataDir)).find((name) => name.endsWith(".wal"));
    expect(segment).toBeDefined();
    const file = join(dataDir, segment as string);
    const bytes = await readFile(file);
    const middle = Math.floor(bytes.length / 2);
    bytes.writeUInt8((bytes.readUInt8(middle) ^ 0xff) & 0xff, middle);
    await writeFile(file, bytes);

    const second = runRegistry(args);
    expect(await second.exit).toBe(1);
    const error = second.lines().find((l) => l["level"] === "error");
    expect(String(error?.["msg"])).toContain(segment);
    expect(String(error?.["hint"])).toContain("restore the data dir from a peer");
  });
});

