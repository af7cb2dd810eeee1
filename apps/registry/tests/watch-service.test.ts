// RegistryService/Watch through a grpc-js client over loopback against a real one-node
// RegistryNode (Raft, WAL on disk, RegistryState).
import { credentials, Server, ServerCredentials, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { RegistryServiceClient, type WatchRequest, type WatchResponse } from "@meshwork/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegistryCommand } from "../src/registry-contract.ts";
import { registerWatchService } from "../src/watch/register-watch-service.ts";
import { startOneNodeRegistry, type OneNodeRegistry } from "./support/one-node-registry.ts";

let registry: OneNodeRegistry;
let server: Server;
let client: RegistryServiceClient;

/** A Watch call whose messages are read one at a time. */
class WatchStream {
  private readonly messages: WatchResponse[] = [];
  private readonly waiting: ((message: WatchResponse | Error) => void)[] = [];
  private failure: Error | undefined;
  readonly call: ClientReadableStream<WatchResponse>;

  constructor(request: Partial<WatchRequest>) {
    this.call = client.watch({ prefix: "", fromIndex: 0, kind: "kv", ...request });
    this.call.on("data", (message: WatchResponse) => {
      const waiter = this.waiting.shift();
      if (waiter === undefined) this.messages.push(message);
      else waiter(message);
    });
    this.call.on("error", (error: ServiceError) => {
      this.failure = error;
      for (const waiter of this.waiting.splice(0)) waiter(error);
    });
  }

  /** The next message (rejects with the stream's error). */
  async next(): Promise<WatchResponse> {
    const queued = this.messages.shift();
    if (queued !== undefined) return queued;
    if (this.failure !== undefined) throw this.failure;
    const result = await new Promise<WatchResponse | Error>((resolve) => this.waiting.push(resolve));
    if (result instanceof Error) throw result;
    return result;
  }

  /** Messages that arrived and were not read yet. */
  get unread(): readonly WatchResponse[] {
    return this.messages;
  }

  cancel(): void {
    this.call.on("error", () => undefined);
    this.call.cancel();
  }
}

function set(key: string, value: string): RegistryCommand {
  return { op: "kv-set", key, value: Buffer.from(value).toString("base64") };
}

function keys(message: WatchResponse): string[] {
  return message.kvEntries.map((e) => `${e.key}=${e.value.toString("utf8")}`);
}

beforeAll(async () => {
  registry = await startOneNodeRegistry();
  server = new Server();
  registerWatchService(server, registry.node, { keepaliveMs: 60_000 });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  client = new RegistryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
}, 60_000);

afterAll(async () => {
  client?.close();
  server?.forceShutdown();
  await registry?.close();
});

describe("RegistryService/Watch", { timeout: 30_000 }, () => {
  it("sends the current KV state under the prefix, then one message per change under it only", async () => {
    const node = registry.node;
    await node.write(set("config/a", "1"));
    const b = await node.write(set("config/b", "2"));
    await node.write(set("other/x", "0"));
    const watch = new WatchStream({ prefix: "config/", kind: "kv" });
    const first = await watch.next();
    expect(first).toMatchObject({ index: b.index, keepalive: false, serviceInstances: [] });
    expect(keys(first)).toEqual(["config/a=1", "config/b=2"]);
    expect(first.kvEntries[1]).toMatchObject({ createIndex: b.index, modifyIndex: b.index, lockIndex: 0, session: "", flags: 0 });

    const c = await node.write(set("config/c", "3"));
    const second = await watch.next();
    expect(second.index).toBe(c.index);
    expect(keys(second)).toEqual(["config/a=1", "config/b=2", "config/c=3"]);

    // A write outside the prefix sends nothing: the next message is the next change under it.
    await node.write(set("other/y", "0"));
    const deleted = await node.write({ op: "kv-delete", key: "config/a" });
    const third = await watch.next();
    expect(third.index).toBe(deleted.index);
    expect(keys(third)).toEqual(["config/b=2", "config/c=3"]);
    watch.cancel();
  });

  it("resumes from from_index without repeating what the client has, and resends after missed changes", async () => {
    const node = registry.node;
    const first = new WatchStream({ prefix: "resume/", kind: "kv" });
    await node.write(set("resume/a", "1"));
    let last = await first.next();
    while (!keys(last).includes("resume/a=1")) last = await first.next();
    first.cancel();

    // Nothing changed under the prefix: no initial message; the first one is the next change.
    const resumed = new WatchStream({ prefix: "resume/", kind: "kv", fromIndex: last.index });
    await node.write(set("unrelated/x", "1"));
    const b = await node.write(set("resume/b", "2"));
    const next = await resumed.next();
    expect(next.index).toBe(b.index);
    expect(keys(next)).toEqual(["resume/a=1", "resume/b=2"]);
    resumed.cancel();

    // Changes while disconnected: the current state comes at once.
    const c = await node.write(set("resume/c", "3"));
    const late = new WatchStream({ prefix: "resume/", kind: "kv", fromIndex: next.index });
    const caughtUp = await late.next();
    expect(caughtUp.index).toBe(c.index);
    expect(keys(caughtUp)).toEqual(["resume/a=1", "resume/b=2", "resume/c=3"]);
    late.cancel();
  });

  it("watches catalog instances under a service prefix, with their aggregate health", async () => {
    const node = registry.node;
    const web = await node.write({
      op: "catalog-register",
      node: "n1",
      address: "10.0.0.1",
      nodeMeta: { zone: "a" },
      service: { id: "web-1", service: "web", address: "", port: 8080, tags: ["v1"], meta: { version: "1" } },
      checks: [{ checkId: "web-1-alive", name: "alive", serviceId: "web-1", status: "passing", output: "", type: "ttl" }],
    });
    const watch = new WatchStream({ prefix: "we", kind: "catalog" });
    const first = await watch.next();
    expect(first.index).toBe(web.index);
    expect(first.serviceInstances).toEqual([
      { node: "n1", nodeAddress: "10.0.0.1", nodeMeta: { zone: "a" }, serviceId: "web-1", serviceName: "web", address: "", port: 8080, tags: ["v1"], meta: { version: "1" }, health: "passing", modifyIndex: web.index },
    ]);
    await node.write({ op: "catalog-register", node: "n2", address: "10.0.0.2", service: { id: "api-1", service: "api", address: "", port: 80, tags: [], meta: {} } });
    const critical = await node.write({ op: "check-update", node: "n1", checkId: "web-1-alive", status: "critical", output: "down" });
    const second = await watch.next();
    expect(second.index).toBe(critical.index);
    expect(second.serviceInstances.map((i) => [i.serviceId, i.health])).toEqual([["web-1", "critical"]]);
    const gone = await node.write({ op: "catalog-deregister", node: "n1", serviceId: "web-1" });
    const third = await watch.next();
    expect(third.index).toBe(gone.index);
    expect(third.serviceInstances).toEqual([]);
    watch.cancel();
  });

  it("wakes KV and catalog watches with the whole restored state when a saved state is restored", async () => {
    const node = registry.node;
    const web = { op: "catalog-register", node: "n9", address: "10.0.0.9", service: { id: "rs-web-1", service: "rs-web", address: "", port: 80, tags: [], meta: {} } } as const;
    await node.write(set("restore/a", "1"));
    await node.write(web);
    const saved = node.state.snapshot?.();
    if (saved === undefined) throw new Error("RegistryNode's state has snapshot()");
    await node.write(set("restore/a", "2"));
    await node.write(set("restore/b", "3"));
    await node.write({ op: "catalog-deregister", node: "n9", serviceId: "rs-web-1" });
    await node.write({ ...web, service: { ...web.service, id: "rs-db-1", service: "rs-db" } });
    const kv = new WatchStream({ prefix: "restore/", kind: "kv" });
    const catalog = new WatchStream({ prefix: "rs-", kind: "catalog" });
    expect(keys(await kv.next())).toEqual(["restore/a=2", "restore/b=3"]);
    const before = await catalog.next();
    expect(before.serviceInstances.map((i) => i.serviceId)).toEqual(["rs-db-1"]);

    const restored = await node.write({ op: "state-restore", state: Buffer.from(saved).toString("base64") });
    expect(restored.ok).toBe(true);
    const kvAfter = await kv.next();
    expect(kvAfter).toMatchObject({ index: restored.index, keepalive: false });
    expect(keys(kvAfter)).toEqual(["restore/a=1"]);
    expect(kvAfter.kvEntries[0]).toMatchObject({ createIndex: restored.index, modifyIndex: restored.index });
    const catalogAfter = await catalog.next();
    expect(catalogAfter.index).toBe(restored.index);
    expect(catalogAfter.serviceInstances.map((i) => [i.serviceId, i.modifyIndex])).toEqual([["rs-web-1", restored.index]]);
    // A client resuming from an index it held before the restore gets the restored state at once.
    const resumed = new WatchStream({ prefix: "restore/", kind: "kv", fromIndex: before.index });
    expect(keys(await resumed.next())).toEqual(["restore/a=1"]);
    for (const watch of [kv, catalog, resumed]) watch.cancel();
  });

  it("refuses a request without a valid kind", async () => {
    const watch = new WatchStream({ prefix: "x", kind: "everything" });
    await expect(watch.next()).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/use "kv" or "catalog"/) });
  });

  it("stops waiting on the registry as soon as the client cancels", async () => {
    // The real node behind a wrapper that counts the waits a watch has open.
    let open = 0;
    const node = registry.node;
    const counting = Object.create(node) as typeof node;
    counting.waitForChange = async (...args: Parameters<typeof node.waitForChange>): Promise<void> => {
      open += 1;
      try {
        await node.waitForChange(...args);
      } finally {
        open -= 1;
      }
    };
    const cancelServer = new Server();
    registerWatchService(cancelServer, counting, { keepaliveMs: 600_000 });
    const port = await new Promise<number>((resolve, reject) => cancelServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    const cancelClient = new RegistryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const call = cancelClient.watch({ prefix: "cancel/", fromIndex: 0, kind: "kv" });
      call.on("error", () => undefined);
      await new Promise<void>((resolve) => call.once("data", () => resolve()));
      while (open === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      call.cancel();
      // Without the cancellation reaching the wait, it would last the 10-minute keepalive.
      while (open > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(open).toBe(0);
    } finally {
      cancelClient.close();
      cancelServer.forceShutdown();
    }
  });

  it("sends keepalives while nothing changes", async () => {
    const keepaliveServer = new Server();
    registerWatchService(keepaliveServer, registry.node, { keepaliveMs: 50 });
    const port = await new Promise<number>((resolve, reject) => keepaliveServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    const keepaliveClient = new RegistryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const call = keepaliveClient.watch({ prefix: "config/", fromIndex: 0, kind: "kv" });
      const received: WatchResponse[] = [];
      await new Promise<void>((resolve) => {
        call.on("data", (message: WatchResponse) => {
          received.push(message);
          if (received.length === 3) resolve();
        });
      });
      call.on("error", () => undefined);
      call.cancel();
      expect(received[0]?.keepalive).toBe(false);
      expect(received.slice(1)).toEqual([
        { index: received[0]?.index, kvEntries: [], serviceInstances: [], keepalive: true },
        { index: received[0]?.index, kvEntries: [], serviceInstances: [], keepalive: true },
      ]);
    } finally {
      keepaliveClient.close();
      keepaliveServer.forceShutdown();
    }
  });
});
