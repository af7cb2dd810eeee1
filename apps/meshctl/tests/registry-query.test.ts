// `meshctl registry query list|create|execute|delete` against a real registry server (apps/registry's
// entry point as a child process on loopback): create a static query and a template, list them,
// execute both, delete one; the registry's refusals and an unknown query are exit 1 with its text.

import { beforeAll, describe, expect, it } from "vitest";
import { registryQueryCreateCommand, registryQueryDeleteCommand, registryQueryExecuteCommand, registryQueryListCommand } from "../src/commands/registry-query-commands.ts";
import { runCommand } from "./support/run-command.ts";
import { eventually, useRegistryServers, type RegistryServer } from "./support/use-registry-servers.ts";

const startRegistryServer = useRegistryServers();
let n1: RegistryServer;

beforeAll(async () => {
  n1 = await startRegistryServer("n1", true, ["--dns-port", "0", "--grpc-port", "0"]);
  await eventually("n1 to lead", async () => (await (await fetch(`${n1.url}/v1/status/leader`)).json()) !== "");
  for (const [node, tag] of [
    ["app-1", "primary"],
    ["app-2", "canary"],
  ] as const) {
    const body = { Node: node, Address: `10.1.0.${node.slice(-1)}`, Service: { ID: `web-${tag}`, Service: "web", Tags: [tag], Port: 8080 } };
    expect((await fetch(`${n1.url}/v1/catalog/register`, { method: "PUT", body: JSON.stringify(body) })).status).toBe(200);
  }
}, 60_000);

describe("meshctl registry query", () => {
  it("creates, lists, executes and deletes prepared queries", async () => {
    const addr = ["--registry-addr", n1.url];
    const created = await runCommand(registryQueryCreateCommand, ["--name", "web-stable", "--service", "web", "--tag", "!canary", "--only-passing", "--dns-ttl", "10s", ...addr]);
    expect(created.err).toBe("");
    expect(created.code).toBe(0);
    const id = /with ID ([0-9a-f-]{36})\.\n$/.exec(created.out)?.[1] ?? "";
    expect(created.out).toBe(`Created prepared query web-stable with ID ${id}.\n`);
    const template = await runCommand(registryQueryCreateCommand, ["--name", "tagged-", "--template", "--regexp", "^tagged-(.+)$", "--service", "web", "--tag", "${match(1)}", ...addr]);
    expect(template.code).toBe(0);

    const list = await runCommand(registryQueryListCommand, addr);
    expect(list.code).toBe(0);
    expect(list.out.split("\n")[0]).toMatch(/^ID\s+NAME\s+SERVICE\s+KIND\s+TAGS\s+ONLY-PASSING\s+DNS-TTL$/);
    expect(list.out).toContain(`${id}  web-stable  web      static    !canary`);
    expect(list.out).toMatch(/tagged-\s+web\s+template\s+\$\{match\(1\)\}/);
    const json = await runCommand(registryQueryListCommand, [...addr, "-o", "json"]);
    expect((JSON.parse(json.out) as { Name: string }[]).map((q) => q.Name).sort()).toEqual(["tagged-", "web-stable"]);

    const executed = await runCommand(registryQueryExecuteCommand, ["web-stable", ...addr]);
    expect(executed.code).toBe(0);
    expect(executed.out).toBe(["Service web: 1 instance (datacenter dc1, failovers 0, DNS TTL 10s)", "NODE   ADDRESS   PORT  SERVICE-ID   TAGS", "app-1  10.1.0.1  8080  web-primary  primary", ""].join("\n"));
    const byTemplate = await runCommand(registryQueryExecuteCommand, ["tagged-canary", "--limit", "1", ...addr, "-o", "json"]);
    expect((JSON.parse(byTemplate.out) as { Nodes: { Node: { Node: string } }[] }).Nodes.map((n) => n.Node.Node)).toEqual(["app-2"]);

    expect(await runCommand(registryQueryDeleteCommand, [id, ...addr])).toEqual({ code: 0, out: `Deleted prepared query ${id}.\n`, err: "" });
    const gone = await runCommand(registryQueryExecuteCommand, ["web-stable", ...addr]);
    expect(gone.code).toBe(1);
    expect(gone.err).toContain("HTTP 404: Query not found");
  }, 30_000);

  it("reports the registry's refusals and usage errors", async () => {
    const addr = ["--registry-addr", n1.url];
    const anonymous = await runCommand(registryQueryCreateCommand, ["--service", "web", ...addr]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.err).toContain("Invalid prepared query: Must be bound to a session");
    const regexpAlone = await runCommand(registryQueryCreateCommand, ["--name", "x", "--service", "web", "--regexp", "a", ...addr]);
    expect(regexpAlone.code).toBe(2);
    expect(regexpAlone.err).toContain("--regexp needs --template");
    const unreachable = await runCommand(registryQueryListCommand, ["--registry-addr", "http://127.0.0.1:1"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain("cannot reach the registry");
  }, 30_000);
});
