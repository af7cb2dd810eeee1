// Disk faults against real registry processes: a torn last WAL record (recovered: the node
// rejoins), a truncated segment that is not the last (refused: exit 1 naming the file), the end
// of the newest segment cut into its last (synced) entry (should rejoin; today it stays wedged),
// and a full disk (a 2 MiB tmpfs: writes fail with 5xx, and after space is freed every
// acknowledged write is still there).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FaultCluster } from "./support/fault-cluster.ts";
import { eventually, putAcknowledged, readValue } from "./support/kv-client.ts";
import { attempt } from "./support/kv-workload.ts";
import { appendTornRecord, cutIntoLastEntry, tearLastRecord, truncateMiddleSegment, walSegments } from "./support/wal-files.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("the registry under disk faults", () => {
  it("recovers a node whose WAL ends in a torn record, and refuses one whose middle segment was truncated", { timeout: 90_000 }, async () => {
    const cluster = await FaultCluster.start();
    cleanups.push(() => cluster.close());
    const urls = cluster.ids.map((id) => cluster.url(id));
    const leader = await cluster.waitForLeader();
    const [torn, cut] = cluster.ids.filter((id) => id !== leader) as [string, string];
    const written = new Map<string, string>();
    for (let k = 0; k < 20; k++) {
      written.set(`disk/k${k}`, `v${k}-${"x".repeat(100)}`);
      await putAcknowledged(urls, `disk/k${k}`, written.get(`disk/k${k}`) as string);
    }

    // Torn tail (a crash while appending a batch never synced): the node comes back, drops the
    // torn record and catches up from the leader.
    await cluster.kill9(torn);
    const tornFile = appendTornRecord(cluster.node(torn).dataDir);
    for (let k = 20; k < 25; k++) {
      written.set(`disk/k${k}`, `v${k}`);
      await putAcknowledged(urls.filter((url) => url !== cluster.url(torn)), `disk/k${k}`, `v${k}`);
    }
    await cluster.restart(torn);
    const restartedAt = Date.now();
    await cluster.waitForLeader();
    if (process.env["FAULT_VERBOSE"] !== undefined) console.log(`${torn} agreed on the leader ${Date.now() - restartedAt} ms after its restart`);
    for (const [key, value] of written) {
      expect(await eventually(() => readValue(cluster.url(torn), key, "stale"), value), `${key} on ${torn} after its torn tail (${basename(tornFile)}) was cut`).toBe(value);
      const consistent = await eventually(() => readValue(cluster.url(torn), key, "consistent"), value);
      if (consistent !== value) {
        const seen = await Promise.all(cluster.ids.map(async (id) => `${id} sees leader ${await cluster.leaderSeenBy(id)}`));
        throw new Error(`${key} read ?consistent through ${torn} (restarted after its torn tail was cut): ${String(consistent)}; ${seen.join(", ")}\n${torn} log:\n${cluster.tail(torn, 25)}`);
      }
    }

    // A truncated segment that is not the last: refuse to start, exit 1, name the file and the fix.
    await cluster.kill9(cut);
    const dataDir = cluster.node(cut).dataDir;
    const copyDir = mkdtempSync(join(tmpdir(), "meshwork-wal-copy-"));
    cleanups.push(() => rmSync(copyDir, { recursive: true, force: true }));
    const original = join(copyDir, "segment.wal");
    const [segment] = walSegments(dataDir) as [string];
    copyFileSync(segment, original);
    const damaged = truncateMiddleSegment(dataDir, 3);
    const outcome = await cluster.launch(cut);
    expect(outcome, `${cut} started on a WAL with a truncated middle segment:\n${cluster.tail(cut)}`).toBe(1);
    const error = cluster.logLines(cut).find((line) => line["level"] === "error");
    expect(String(error?.["msg"])).toContain(damaged);
    expect(String(error?.["msg"])).toContain("not the last");
    expect(String(error?.["hint"])).toContain("restore the data dir from a peer");

    // With the segment restored the node starts and has everything.
    for (const file of walSegments(dataDir)) rmSync(file);
    copyFileSync(original, segment);
    await cluster.restart(cut);
    for (const [key, value] of written) expect(await eventually(() => readValue(cluster.url(cut), key, "stale"), value)).toBe(value);
  });

  // Cutting into the last entry loses data that was synced and acknowledged (a disk that lied
  // about fdatasync). Raft cannot repair a log that shrank behind its acknowledgements (etcd
  // panics). The node must either rejoin (a new leader probes it from scratch) or stop with a clear
  // error naming its data directory and the remedy — never stay up and wedged.
  it("rejoins, or stops loudly, after synced entries were cut from its newest WAL segment", { timeout: 90_000 }, async () => {
    const cluster = await FaultCluster.start();
    cleanups.push(() => cluster.close());
    const urls = cluster.ids.map((id) => cluster.url(id));
    const leader = await cluster.waitForLeader();
    const [cut] = cluster.ids.filter((id) => id !== leader) as [string];
    for (let k = 0; k < 10; k++) await putAcknowledged(urls, `cut/k${k}`, `v${k}`);
    await cluster.kill9(cut);
    tearLastRecord(cluster.node(cut).dataDir, 5);
    const file = cutIntoLastEntry(cluster.node(cut).dataDir);
    await putAcknowledged(urls.filter((url) => url !== cluster.url(cut)), "cut/after", "after");
    const launched = await cluster.launch(cut);
    const outcome = await Promise.race([
      eventually(() => readValue(cluster.url(cut), "cut/after", "consistent"), "after", 15_000).then(() => "rejoined" as const),
      (cluster.node(cut).exit ?? Promise.resolve(null)).then((code) => `exited ${String(code)}` as const),
    ]).catch((error: unknown) => `neither: ${String(error)}`);
    const lines = cluster.tail(cut, 12);
    if (outcome === "rejoined") return;
    expect(outcome, `after ${basename(file)} was cut into its last entry (launch: ${String(launched)}); last lines:\n${lines.slice(-3000)}`).toBe("exited 1");
    expect(lines).toContain("synced data was lost");
    expect(lines).toContain("Remove the data directory and rejoin");
  });

  it("answers 5xx when the disk is full, and keeps every acknowledged write once space is freed", { timeout: 90_000 }, async () => {
    const mountPoint = mkdtempSync(join(tmpdir(), "meshwork-tmpfs-"));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint], { stdio: "pipe" });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? String(error);
      throw new Error(`the full-disk test needs a 2 MiB tmpfs and could not mount one at ${mountPoint} (mount -t tmpfs -o size=2m: ${stderr}); run it as root or with CAP_SYS_ADMIN`);
    }
    cleanups.push(() => {
      execFileSync("umount", ["-l", mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    });
    // Ballast takes most of the space, so the log fills the rest quickly; deleting it frees space.
    const ballast = join(mountPoint, "ballast");
    writeFileSync(ballast, Buffer.alloc(1200 * 1024, 1));
    const cluster = await FaultCluster.start({ size: 1, dataDirOf: (id) => join(mountPoint, id) });
    cleanups.push(() => cluster.close());
    const url = cluster.url("n1");
    await cluster.waitForLeader();

    const acknowledged = new Map<string, string>();
    const failures: string[] = [];
    for (let k = 0; k < 200 && failures.length === 0; k++) {
      const key = `full/k${k}`;
      const value = `${k}:${"y".repeat(32 * 1024)}`;
      const answer = await attempt(`${url}/v1/kv/${key}`, { method: "PUT", body: value }, 10_000);
      if (answer.kind === "done" && answer.status === 200 && answer.body.trim() === "true") acknowledged.set(key, value);
      else failures.push(answer.kind === "done" ? `${answer.status} ${answer.body.slice(0, 200)}` : `network error ${answer.code}`);
    }
    expect(failures.length, "the disk never filled (200 writes of 32 KiB acknowledged on a 2 MiB tmpfs)").toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(0);
    const firstFailure = failures[0] ?? "";
    if (process.env["FAULT_VERBOSE"] !== undefined) console.log(`full disk: ${acknowledged.size} writes acknowledged, then ${firstFailure}`);
    const nodeLog = cluster.tail("n1", 10);

    // Free the space, restart if the node stopped itself, and check nothing acknowledged was lost.
    rmSync(ballast);
    // A node that refused a write stops itself (exit 1, for its supervisor): give it time to exit.
    await Promise.race([cluster.node("n1").exit, new Promise((resolve) => setTimeout(resolve, 3000))]);
    const stoppedItself = !cluster.isRunning("n1");
    if (stoppedItself) await cluster.restart("n1");
    await cluster.waitForLeader(["n1"]).catch((error: unknown) => {
      throw new Error(`${String(error)}\nafter ${acknowledged.size} acknowledged writes, failures ${JSON.stringify(failures)}; the node ${stoppedItself ? "had stopped and was restarted" : "kept running"}; log:\n${cluster.tail("n1", 20)}`);
    });
    for (const [key, value] of acknowledged) expect(await readValue(url, key, "consistent"), `${key} was acknowledged before the disk filled`).toBe(value);
    await putAcknowledged([url], "full/after", "space again");
    expect(await readValue(url, "full/after", "consistent")).toBe("space again");

    expect(firstFailure, `the write that hit the full disk should get a 5xx answer; node log:\n${nodeLog}`).toMatch(/^5\d\d /);
  });
});
