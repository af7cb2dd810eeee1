// deploy/compose/compose.yaml: lint-clean with dclint, accepted by `docker-compose config -q`, and
// the same topology as the local mesh (registry x3, ca, control-plane, gateway, bookinfo with a
// sidecar in each service's network namespace), hardened and with settings the apps know.
// What this does not prove: that the images build or the stack comes up (no container engine here).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkEnvNames } from "./declared-env.ts";
import { repoRoot } from "./render-kustomize.ts";
import { imageProblem } from "./workload-pods.ts";

const composeDir = join(repoRoot, "deploy/compose");
const composeFile = join(composeDir, "compose.yaml");

interface ComposeService {
  image?: string;
  environment?: Record<string, string>;
  network_mode?: string;
  healthcheck?: unknown;
  read_only?: boolean;
  user?: string;
  cap_drop?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
}

function dclint(cwd: string, file: string) {
  return spawnSync(join(repoRoot, "node_modules/.bin/dclint"), [file, "--max-warnings", "0", "--color", "false"], { cwd, encoding: "utf8" });
}

let scratch = "";
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "meshwork-compose-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("deploy/compose/compose.yaml", () => {
  const services = (parse(readFileSync(composeFile, "utf8")) as { services: Record<string, ComposeService> }).services;

  it("passes dclint with no errors or warnings", () => {
    const result = dclint(composeDir, "compose.yaml");
    expect(result.error, "dclint could not run: it is a root devDependency (npm ci)").toBeUndefined();
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });

  it("is accepted by docker-compose config -q", () => {
    const version = spawnSync("docker-compose", ["version"], { encoding: "utf8" });
    if (version.error || version.status !== 0) {
      throw new Error(`docker-compose is required to validate deploy/compose/compose.yaml but could not be run (${version.error?.message ?? version.stderr}). Install it: apt-get install -y docker-compose`);
    }
    const result = spawnSync("docker-compose", ["-f", composeFile, "config", "-q"], { encoding: "utf8" });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });

  it("mirrors the local mesh: registry x3, ca, control-plane, gateway, bookinfo with a sidecar each", () => {
    expect(Object.keys(services).filter((s) => s.startsWith("registry-")).sort()).toEqual(["registry-1", "registry-2", "registry-3"]);
    for (const name of ["ca", "control-plane", "ingress-gateway"]) expect(services[name], name).toBeDefined();
    const apps = ["details", "productpage", "ratings", "reviews-v1", "reviews-v2", "reviews-v3"];
    for (const app of apps) {
      expect(services[app]?.image, app).toMatch(/^ghcr\.io\/meshwork\/bookinfo:/);
      expect(services[`${app}-sidecar`]?.network_mode, `${app}-sidecar shares ${app}'s network namespace`).toBe(`service:${app}`);
      expect(services[`${app}-sidecar`]?.image).toMatch(/^ghcr\.io\/meshwork\/sidecar:/);
    }
    const peers = services["registry-1"]?.environment?.["MESHWORK_REGISTRY_PEERS"];
    for (const n of [1, 2, 3]) expect(services[`registry-${n}`]?.environment?.["MESHWORK_REGISTRY_PEERS"]).toBe(peers);
  });

  it("pins images, runs everything non-root on a read-only root fs, with healthchecks on long-running services", () => {
    for (const [name, service] of Object.entries(services)) {
      expect(imageProblem(service.image), name).toBeUndefined();
      expect(service.read_only, name).toBe(true);
      expect(service.user, name).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
      expect(service.cap_drop, name).toEqual(["ALL"]);
      if (service.restart !== "no") expect(service.healthcheck, name).toBeDefined();
    }
  });

  it("sets only settings the apps declare (or documented placeholders)", () => {
    const problems = Object.entries(services).flatMap(([name, service]) => checkEnvNames(name, service.image ?? "", Object.keys(service.environment ?? {})));
    expect(problems).toEqual([]);
    expect(checkEnvNames("x", "ghcr.io/meshwork/registry:0.1.0", ["MESHWORK_REGISTRY_NODEID"])[0]).toMatch(/MESHWORK_REGISTRY_NODEID is not a setting of apps\/registry/);
  });

  it("dclint fails on a broken file (the check can fail)", () => {
    writeFileSync(join(scratch, "compose.yaml"), "services:\n  b:\n    image: x:latest\n    build: .\n  a:\n    image: y\n");
    const result = dclint(scratch, "compose.yaml");
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/no-build-and-image/);
  });
});
