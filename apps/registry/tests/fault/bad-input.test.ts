// Bad input through the HTTP API of a real registry process: malformed JSON, values over the
// limit, invalid keys and unknown sessions get clear 4xx answers, and nothing changes in the KV.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultCluster } from "./support/fault-cluster.ts";
import { putAcknowledged } from "./support/kv-client.ts";
import { attempt } from "./support/kv-workload.ts";

let cluster: FaultCluster;
let url = "";
const unknownSession = "00000000-0000-4000-8000-00000000dead";

beforeAll(async () => {
  cluster = await FaultCluster.start({ size: 1 });
  url = cluster.url("n1");
  await cluster.waitForLeader();
  await putAcknowledged([url], "bad/existing", "before");
}, 60_000);
afterAll(async () => {
  await cluster.close();
});

/** The whole KV and its index, to show a refused request changed nothing. */
async function snapshotKv(): Promise<{ readonly index: string | null; readonly entries: string }> {
  const response = await fetch(`${url}/v1/kv/?recurse&consistent`);
  return { index: response.headers.get("x-consul-index"), entries: await response.text() };
}

async function send(method: string, path: string, body?: string | Uint8Array): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}${path}`, { method, ...(body === undefined ? {} : { body }), redirect: "manual" });
  return { status: response.status, text: await response.text() };
}

const cases: readonly { readonly name: string; readonly method: string; readonly path: string; readonly body?: () => string | Uint8Array; readonly status: number; readonly message: RegExp }[] = [
  { name: "a txn body that is not JSON", method: "PUT", path: "/v1/txn", body: () => '[{"KV": {"Verb": "set",', status: 400, message: /Request decode failed: the txn body is not JSON/ },
  { name: "an empty txn body", method: "PUT", path: "/v1/txn", body: () => "", status: 400, message: /txn body is empty/ },
  { name: "a txn body that is an object", method: "PUT", path: "/v1/txn", body: () => '{"KV": {}}', status: 400, message: /must be a JSON array/ },
  { name: "a txn op with an unknown verb", method: "PUT", path: "/v1/txn", body: () => JSON.stringify([{ KV: { Verb: "explode", Key: "bad/x" } }]), status: 400, message: /op\[0\]\.KV\.Verb "explode"/ },
  { name: "a txn value that is not base64", method: "PUT", path: "/v1/txn", body: () => JSON.stringify([{ KV: { Verb: "set", Key: "bad/x", Value: "not base64!" } }]), status: 400, message: /op\[0\]\.KV\.Value must be base64/ },
  {
    name: "a txn value over 512 KiB",
    method: "PUT",
    path: "/v1/txn",
    body: () => JSON.stringify([{ KV: { Verb: "set", Key: "bad/x", Value: Buffer.alloc(600 * 1024, 7).toString("base64") } }]),
    status: 413,
    message: /op\[0\]\.KV\.Value is larger than 524288 bytes/,
  },
  { name: "a KV value over 512 KiB", method: "PUT", path: "/v1/kv/bad/huge", body: () => Buffer.alloc(600 * 1024, 7), status: 413, message: /too large, max size: 524288 bytes/ },
  { name: "a body over the 1 MiB request limit", method: "PUT", path: "/v1/kv/bad/huger", body: () => Buffer.alloc(2 * 1024 * 1024, 7), status: 413, message: /Request body too large: the limit is 1048576 bytes/ },
  { name: "a key with a control character", method: "PUT", path: "/v1/kv/bad/a%01b", body: () => "x", status: 400, message: /Invalid key .*control characters/ },
  { name: "a key with a bad percent-escape", method: "PUT", path: "/v1/kv/bad/%zz", body: () => "x", status: 400, message: /bad percent-encoding/ },
  { name: "a PUT without a key", method: "PUT", path: "/v1/kv/", body: () => "x", status: 400, message: /Missing key name/ },
  { name: "a ?cas that is not a number", method: "PUT", path: "/v1/kv/bad/existing?cas=abc", body: () => "changed", status: 400, message: /cas/ },
  { name: "?acquire with an unknown session", method: "PUT", path: `/v1/kv/bad/lock?acquire=${unknownSession}`, body: () => "held", status: 400, message: new RegExp(`[Ss]ession.*${unknownSession}|${unknownSession}.*[Ss]ession`) },
  // As Consul: a release by a session that does not hold the key is a refused (false) write, not an error.
  { name: "?release with an unknown session", method: "PUT", path: `/v1/kv/bad/existing?release=${unknownSession}`, body: () => "changed", status: 200, message: /^false/ },
  {
    name: "a txn lock with an unknown session",
    method: "PUT",
    path: "/v1/txn",
    body: () => JSON.stringify([{ KV: { Verb: "set", Key: "bad/txn-first", Value: Buffer.from("v").toString("base64") } }, { KV: { Verb: "lock", Key: "bad/txn-lock", Value: "", Session: unknownSession } }]),
    status: 409,
    message: /"OpIndex":1/,
  },
  { name: "renewing an unknown session", method: "PUT", path: `/v1/session/renew/${unknownSession}`, status: 404, message: new RegExp(`Session id '${unknownSession}' not found`) },
  { name: "a session body that is not JSON", method: "PUT", path: "/v1/session/create", body: () => "{TTL: 10s}", status: 400, message: /the session body is not JSON/ },
];

describe("bad input through the HTTP API of a registry process", () => {
  it.each(cases)("refuses $name (status $status) and changes nothing", { timeout: 30_000 }, async ({ method, path, body, status, message }) => {
    const before = await snapshotKv();
    const answer = await send(method, path, body?.());
    expect(answer.status, answer.text).toBe(status);
    expect(answer.text).toMatch(message);
    expect(await snapshotKv()).toEqual(before);
  });

  it("still serves the value written before the bad requests", async () => {
    const answer = await attempt(`${url}/v1/kv/bad/existing?raw&consistent`, { method: "GET" }, 5000);
    expect(answer).toMatchObject({ kind: "done", status: 200, body: "before" });
  });
});
