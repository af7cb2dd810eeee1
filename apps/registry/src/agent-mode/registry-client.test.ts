import { describe, expect, it } from "vitest";
import { RegistryClient, RegistryRefusedError, RegistryUnavailableError, type FetchFn } from "./registry-client.ts";

function fakeFetch(answers: Record<string, () => Response>): { fetch: FetchFn; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: async (url) => {
      calls.push(url);
      const answer = answers[new URL(url).origin];
      if (answer === undefined) throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
      return answer();
    },
  };
}

describe("RegistryClient", () => {
  it("fails over past a refused connection and a 5xx, and keeps using the server that answered", async () => {
    const fake = fakeFetch({ "http://b:8500": () => new Response("No cluster leader", { status: 500 }), "http://c:8500": () => new Response("true") });
    const failovers: string[] = [];
    const client = new RegistryClient(["http://a:8500", "http://b:8500/", "http://c:8500"], { fetch: fake.fetch, onFailover: (server, reason) => failovers.push(`${server} ${reason}`) });
    expect(await client.put("/v1/catalog/register", {})).toBe("true");
    expect(fake.calls).toEqual(["http://a:8500/v1/catalog/register", "http://b:8500/v1/catalog/register", "http://c:8500/v1/catalog/register"]);
    expect(failovers).toEqual(["http://a:8500 http://a:8500: ECONNREFUSED", "http://b:8500 http://b:8500: 500 No cluster leader"]);
    expect(client.server).toBe("http://c:8500");
    await client.put("/v1/catalog/register", {});
    expect(fake.calls.at(-1)).toBe("http://c:8500/v1/catalog/register");
  });

  it("does not retry a 4xx elsewhere, and reports every server's failure when none answers", async () => {
    const refusing = new RegistryClient(["http://a:8500", "http://b:8500"], { fetch: fakeFetch({ "http://a:8500": () => new Response("Must provide node", { status: 400 }), "http://b:8500": () => new Response("true") }).fetch });
    await expect(refusing.put("/v1/catalog/register", {})).rejects.toThrow(RegistryRefusedError);
    const none = new RegistryClient(["http://a:8500", "http://b:8500"], { fetch: fakeFetch({}).fetch });
    const error = await none.put("/x", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as RegistryUnavailableError).reasons).toEqual(["http://a:8500: ECONNREFUSED", "http://b:8500: ECONNREFUSED"]);
  });

  it("get() fails over like put(), hands back a 4xx as an answer with its X-Consul-Index, and reports every failure when none answers", async () => {
    const fake = fakeFetch({
      "http://b:8500": () => new Response("Prepared query not found", { status: 404, headers: { "x-consul-index": "42" } }),
    });
    const client = new RegistryClient(["http://a:8500", "http://b:8500"], { fetch: fake.fetch });
    expect(await client.get("/v1/query/nope/execute?stale")).toEqual({ status: 404, text: "Prepared query not found", index: 42 });
    expect(fake.calls).toEqual(["http://a:8500/v1/query/nope/execute?stale", "http://b:8500/v1/query/nope/execute?stale"]);
    expect(client.server).toBe("http://b:8500");
    const none = new RegistryClient(["http://a:8500", "http://b:8500"], { fetch: fakeFetch({ "http://b:8500": () => new Response("No cluster leader", { status: 500 }) }).fetch });
    const error = await none.get("/v1/catalog/nodes").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as RegistryUnavailableError).reasons).toEqual(["http://a:8500: ECONNREFUSED", "http://b:8500: 500 No cluster leader"]);
  });

  it("refuses a --server that is not an http URL, naming the flag", () => {
    expect(() => new RegistryClient(["10.0.0.1:8500"])).toThrow('invalid --server "10.0.0.1:8500"');
    expect(() => new RegistryClient([])).toThrow(/--server is required/);
  });
});
