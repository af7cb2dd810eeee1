// `meshctl apply / get / delete / proxy-status / proxy-config` against a real control plane backed
// by a real registry server (both apps' entry points as child processes on loopback): a resource
// goes through local validation, the control plane's admission and the registry KV, comes back in
// the serving config, and is deleted; bad input is refused with nothing written.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meshctl } from "./support/run-meshctl.ts";
import { freePort } from "@meshwork/testing/processes";
import { startApp, type StartedApp } from "./support/start-app.ts";

let dir: string;
let controlPlane: string;
const apps: StartedApp[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshctl-config-"));
  const [raft, http, grpc, admin, cpGrpc, cpAdmin] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  apps.push(
    await startApp(
      "registry",
      ["--node-id", "r1", "--peers", `r1=127.0.0.1:${raft}`, "--data-dir", join(dir, "r1"), "--raft-port", `${raft}`, "--http-port", `${http}`, "--grpc-port", `${grpc}`, "--admin-port", `${admin}`, "--dns-port", "0", "--tick-ms", "20"],
      `http://127.0.0.1:${admin}/readyz`,
    ),
  );
  apps.push(
    await startApp(
      "control-plane",
      ["--id", "cp-1", "--grpc-port", `${cpGrpc}`, "--admin-port", `${cpAdmin}`, "--registry-grpc", `127.0.0.1:${grpc}`, "--registry-http", `http://127.0.0.1:${http}`, "--debounce-ms", "10"],
      `http://127.0.0.1:${cpAdmin}/ready`,
    ),
  );
  controlPlane = `http://127.0.0.1:${cpAdmin}`;
}, 120_000);

afterAll(async () => {
  for (const app of apps.reverse()) await app.stop();
  await rm(dir, { recursive: true, force: true });
});

const reviewsService = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`;

const reviews = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: default
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews }
    timeout: 2.5s
`;

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** Polls `meshctl get` until `predicate` holds for its stdout (the control plane applies KV changes asynchronously). */
async function getUntil(args: readonly string[], predicate: (stdout: string) => boolean): Promise<string> {
  let last = "";
  for (let i = 0; i < 100; i++) {
    const run = await meshctl(["get", ...args, "--control-plane", controlPlane]);
    last = run.stdout + run.stderr;
    if (run.code === 0 && predicate(run.stdout)) return run.stdout;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`meshctl get ${args.join(" ")} never matched; last output:\n${last}`);
}

describe("meshctl apply / get / delete", () => {
  it("applies a resource through the control plane, reads it back as written, and deletes it", { timeout: 120_000 }, async () => {
    const path = await file("reviews.yaml", `${reviewsService}---\n${reviews}`);
    const applied = await meshctl(["apply", "-f", path, "--control-plane", controlPlane]);
    expect(applied).toEqual({ code: 0, stdout: "ServiceEntry default/reviews applied\nVirtualService default/reviews applied\n", stderr: "" });

    const table = await getUntil(["vs"], (out) => out.includes("reviews"));
    expect(table).toMatch(/^KIND +NAMESPACE +NAME\nVirtualService +default +reviews\n$/);
    const yaml = await getUntil(["virtualservice", "reviews", "-n", "default", "-o", "yaml"], (out) => out.includes("kind: VirtualService"));
    expect(yaml).toContain("timeout: 2500ms"); // a Go duration again, not the decoded number
    expect(yaml).toContain("name: reviews");

    const deleted = await meshctl(["delete", "vs", "reviews", "-n", "default", "--control-plane", controlPlane]);
    expect(deleted).toMatchObject({ code: 0, stdout: "VirtualService default/reviews deleted\n" });
    await getUntil(["vs"], (out) => out === "No resources found.\n");
    expect(await meshctl(["delete", "-f", path, "--control-plane", controlPlane])).toMatchObject({ code: 1, stdout: "ServiceEntry default/reviews deleted\n", stderr: expect.stringContaining("VirtualService default/reviews: HTTP 404") });
    await getUntil([], (out) => out === "No resources found.\n");
  });

  it("refuses invalid YAML locally with file, line and column, sending nothing", { timeout: 60_000 }, async () => {
    const bad = await file("bad.yaml", reviews.replace("timeout: 2.5s", "timeout: soon"));
    const run = await meshctl(["apply", "-f", bad, "--control-plane", controlPlane]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("bad.yaml:11:");
    expect(run.stderr).toContain("rejected locally: fix the errors above; nothing was sent");
  });

  it("passes on the control plane's refusal when analysis finds an error, and nothing is written", { timeout: 60_000 }, async () => {
    const unknownGateway = reviews.replace("  hosts: [reviews]", "  hosts: [reviews]\n  gateways: [no-such-gateway]");
    const run = await meshctl(["apply", "-f", await file("gateway.yaml", unknownGateway), "--control-plane", controlPlane]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("the control plane rejected the request (HTTP 400); nothing was written:");
    expect(run.stderr).toContain("MW0103");
    const served = await meshctl(["get", "vs", "-o", "yaml", "--control-plane", controlPlane]);
    expect(served.code).toBe(0);
    expect(served.stdout).not.toContain("no-such-gateway");
  });

  it("names the flag to fix when no control plane answers", { timeout: 60_000 }, async () => {
    const run = await meshctl(["get", "--control-plane", `http://127.0.0.1:${await freePort()}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot reach the control plane's admin port at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); is it running, and is --control-plane right\?/);
  });
});

describe("meshctl proxy-status / proxy-config", () => {
  it("reports no connected proxies, and an unknown proxy with where it looked", { timeout: 60_000 }, async () => {
    expect(await meshctl(["proxy-status", "--control-plane", controlPlane])).toMatchObject({ code: 0, stdout: "No proxies are connected.\n" });
    const config = await meshctl(["proxy-config", "nope", "routes", "--control-plane", controlPlane]);
    expect(config.code).toBe(1);
    expect(config.stderr).toContain('proxy "nope" was not found');
    expect(config.stderr).toContain("is not connected to this replica (cp-1)");
  });
});
