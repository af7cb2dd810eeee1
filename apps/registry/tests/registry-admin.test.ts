// The admin listener of a real one-node registry (startRegistry in-process: real DurableStorage,
// Raft, Consul HTTP API): /healthz, /readyz once it leads, and /metrics scraped in Prometheus text
// after KV writes — Raft term and indexes, leader, WAL save (fsync) histogram, write and HTTP API
// counters by endpoint family and status.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "./support/start-test-registry.ts";

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startTestRegistry();
});
afterAll(() => registry.stop());

const admin = (path: string) => fetch(`http://127.0.0.1:${registry.adminPort}${path}`);
const api = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${registry.httpPort}${path}`, init);

async function waitForLeader(): Promise<void> {
  for (let i = 0; i < 500 && !registry.node.isLeader; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(registry.node.isLeader).toBe(true);
}

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, name: string, labels = ""): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels === "" ? " " : `{${labels}} `}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("registry admin listener", () => {
  it("answers /healthz while the process is up", async () => {
    const response = await admin("/healthz");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok\n");
  });

  it("is ready once it leads its one-node cluster and has applied the leader's commit", async () => {
    await waitForLeader();
    const response = await admin("/readyz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true, leader: "n1", applied: registry.node.appliedIndex });
  });

  it("exports Raft state, WAL save latency, writes and API latency in Prometheus text", async () => {
    await waitForLeader();
    for (let i = 0; i < 3; i++) expect((await api(`/v1/kv/app/k${i}`, { method: "PUT", body: `v${i}` })).status).toBe(200);
    expect((await api("/v1/kv/app/k0")).status).toBe(200);
    expect((await api("/v1/kv/missing")).status).toBe(404);
    expect((await api("/v1/kv/app/k0?cas=1", { method: "PUT", body: "x" })).status).toBe(200); // a refused CAS: "false"

    const response = await admin("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const status = registry.node.status();
    expect(sample(text, "meshwork_registry_raft_term")).toBe(status.term);
    expect(sample(text, "meshwork_registry_raft_term")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "meshwork_registry_raft_commit_index")).toBe(status.commit);
    expect(sample(text, "meshwork_registry_raft_applied_index")).toBe(registry.node.appliedIndex);
    expect(sample(text, "meshwork_registry_raft_applied_index")).toBeGreaterThanOrEqual(5);
    expect(sample(text, "meshwork_registry_raft_is_leader")).toBe(1);
    expect(sample(text, "meshwork_registry_raft_voters")).toBe(1);
    expect(sample(text, "meshwork_registry_raft_leader_changes_total")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "meshwork_registry_raft_peers", 'state="up"')).toBe(0);
    expect(sample(text, "meshwork_registry_raft_peers", 'state="down"')).toBe(0);
    // Every write (3 PUTs + the CAS) was proposed here, fsynced, and counted.
    expect(sample(text, "meshwork_registry_writes_total", 'via="local",outcome="ok"')).toBe(3);
    expect(sample(text, "meshwork_registry_writes_total", 'via="local",outcome="refused"')).toBe(1);
    expect(sample(text, "meshwork_registry_wal_save_duration_seconds_count", 'fsync="true"')).toBeGreaterThanOrEqual(4);
    expect(sample(text, "meshwork_registry_wal_save_duration_seconds_sum", 'fsync="true"')).toBeGreaterThan(0);
    expect(sample(text, "meshwork_registry_wal_entries_saved_total")).toBeGreaterThanOrEqual(5);
    expect(sample(text, "meshwork_registry_http_request_duration_seconds_count", 'family="kv",method="PUT",code="200",blocking="false"')).toBe(4);
    expect(sample(text, "meshwork_registry_http_request_duration_seconds_count", 'family="kv",method="GET",code="200",blocking="false"')).toBe(1);
    expect(sample(text, "meshwork_registry_http_request_duration_seconds_count", 'family="kv",method="GET",code="404",blocking="false"')).toBe(1);
    // No key, service name or id ever becomes a label value.
    expect(text).not.toContain("app/k");
  });

  it("answers 404 naming the endpoints for an unknown admin path, 405 for a write", async () => {
    const missing = await admin("/v1/kv/x");
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("/healthz, /readyz or /metrics");
    expect((await fetch(`http://127.0.0.1:${registry.adminPort}/metrics`, { method: "POST" })).status).toBe(405);
  });
});
