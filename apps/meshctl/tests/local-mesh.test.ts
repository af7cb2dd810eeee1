// `meshctl up`, `status` and `down` for real: a local mesh of one registry server, the ca, one
// control-plane replica and bookinfo with a sidecar per workload, as child processes of meshctl;
// the product page is served through productpage's sidecar; `down` stops every process and a
// second `up` from the same state dir comes back (the registry's data and the CA's root reused).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanEnv, meshctl, meshctlMain, workspaceRoot } from "./support/run-meshctl.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * A base port whose 500-port block has nothing listening at the ports the plan uses first, below
 * Linux's ephemeral range (32768+), where outgoing connections would take ports of the block.
 */
async function freeBlock(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 120) * 100;
    const probes = await Promise.all([0, 100, 110, 200, 202, 250].map((offset) => isFree(base + offset)));
    if (probes.every(Boolean)) return base;
  }
}

async function freeGatewayPort(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 9_000);
    if (await isFree(port)) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

interface Up {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function startUp(args: readonly string[]): Up {
  // From source through tsx on a loaded 2-core machine, seven sidecars starting at once take a while.
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", meshctlMain, "up", "--ready-timeout", "150", ...args], { cwd: workspaceRoot, env: cleanEnv({ NO_COLOR: "1" }), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  });
  return { child, output: () => output, exited };
}

async function waitForReady(up: Up): Promise<string> {
  const deadline = Date.now() + 200_000;
  while (!up.output().includes("Local mesh ready")) {
    if (up.child.exitCode !== null) throw new Error(`meshctl up exited with ${up.child.exitCode}:\n${up.output()}`);
    if (Date.now() > deadline) throw new Error(`meshctl up was not ready:\n${up.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return up.output();
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("meshctl up / status / down", () => {
  it("starts the local mesh, serves the product page through the mesh, and stops every process", { timeout: 600_000 }, async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "meshctl-up-"));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const config = join(stateDir, "mesh.yaml");
    const basePort = await freeBlock();
    await writeFile(config, `registryServers: 1\ncontrolPlaneReplicas: 1\nbasePort: ${basePort}\ngatewayPort: ${await freeGatewayPort()}\n`);
    const up = startUp(["--state-dir", stateDir, "--config", config]);
    const output = await waitForReady(up);
    const url = /product page \(through the ingress gateway\): (\S+)/.exec(output)?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/productpage$/);
    const page = await fetch(url as string);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Simple Bookstore App");
    // Through the gateway to productpage, and from productpage's sidecar to details and reviews.
    expect(html).not.toContain("Error fetching product details");
    expect(html).not.toContain("Error fetching product reviews");
    // Managed sidecars with SVIDs from the CA: the gateway → productpage hop is mutual TLS with the
    // gateway's identity (productpage is workload 0: its sidecar's stats port is basePort + 204).
    const stats = await (await fetch(`http://127.0.0.1:${basePort + 204}/stats/prometheus`)).text();
    expect(stats).toMatch(/istio_requests_total\{reporter="destination"[^}]*source_principal="spiffe:\/\/cluster\.local\/ns\/istio-system\/sa\/istio-ingressgateway-service-account"[^}]*destination_service="productpage\.default\.svc\.cluster\.local"[^}]*connection_security_policy="mutual_tls"/);
    expect(stats).toMatch(/istio_requests_total\{reporter="source"[^}]*destination_principal="spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-details"/);

    const state = JSON.parse(readFileSync(join(stateDir, "up.json"), "utf8")) as { pid: number; processes: { name: string; pid: number }[] };
    expect(state.processes.map((p) => p.name).sort()).toEqual(
      ["ca", "control-plane-1", "details-v1", "ingress-gateway", "details-v1-sidecar", "productpage-v1", "productpage-v1-sidecar", "ratings-v1", "ratings-v1-sidecar", "registry-1", "reviews-v1", "reviews-v1-sidecar", "reviews-v2", "reviews-v2-sidecar", "reviews-v3", "reviews-v3-sidecar"].sort(),
    );
    const status = await meshctl(["status", "--state-dir", stateDir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^registry-1 +pid \d+ +READY$/m);

    const down = await meshctl(["down", "--state-dir", stateDir]);
    expect(down).toMatchObject({ code: 0, stdout: "Local mesh stopped.\n" });
    expect(await up.exited).toBe(143);
    expect(state.processes.filter((p) => pidAlive(p.pid)).map((p) => p.name)).toEqual([]);
    expect(existsSync(join(stateDir, "up.json"))).toBe(false);
    expect((await meshctl(["status", "--state-dir", stateDir])).code).toBe(1);

    // A second start finds the registry's log and the CA's root where the first left them.
    const root = readFileSync(join(stateDir, "ca", "root-cert.pem"), "utf8");
    const again = startUp(["--state-dir", stateDir, "--config", config]);
    await waitForReady(again);
    expect(readFileSync(join(stateDir, "ca", "root-cert.pem"), "utf8")).toBe(root);
    again.child.kill("SIGINT");
    expect(await again.exited).toBe(130);
  });

  it("refuses a topology file with a bad field, naming it", { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "meshctl-up-bad-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, "mesh.yaml"), "registryServers: 2\n");
    const run = await meshctl(["up", "--state-dir", dir, "--config", join(dir, "mesh.yaml")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("invalid registryServers 2; expected registryServers: 1, 3 or 5");
  });
});
