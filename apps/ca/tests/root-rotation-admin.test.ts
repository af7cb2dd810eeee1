// The admin API of a real CA (in-process, real HTTP and gRPC): GET /v1/ca/status and
// POST /v1/ca/rotate-root behind loopback + bearer token auth; the rotation's state persisted in
// the data dir, so a CA re-created from the same dir mid-rotation serves the same bundle, resumes
// the same phase and finishes the rotation; --force finishes one at once.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { csrFor, startCaFixture, type CaFixture } from "./ca-fixture.ts";
import { createCertificate } from "@meshwork/workload-identity";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "meshwork-ca-admin-"));
  dirs.push(dir);
  return dir;
}

async function admin(f: CaFixture, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: Record<string, unknown> & { rotation?: Record<string, unknown>; bundle?: { version: number; roots: { sha256: string }[] }; activeRoot?: { sha256: string } } }> {
  const response = await fetch(`http://127.0.0.1:${f.ca.adminPort}${path}`, {
    method,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as never };
}

async function waitFor<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (ok(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("CA admin API", () => {
  it("needs the bearer token of --admin-token-file: 401 without one, 403 with a wrong one", async () => {
    const dir = await tempDir();
    const tokenFile = join(dir, "admin-token");
    await writeFile(tokenFile, "s3cret-token\n", { mode: 0o600 });
    const f = await startCaFixture(["--admin-token-file", tokenFile]);
    try {
      const missing = await admin(f, "GET", "/v1/ca/status");
      expect(missing.status).toBe(401);
      expect(missing.body["error"]).toContain("Authorization: Bearer <token>");
      const wrong = await admin(f, "GET", "/v1/ca/status", { token: "nope" });
      expect(wrong.status).toBe(403);
      expect(wrong.body["error"]).toContain("does not match the CA's --admin-token-file");
      const ok = await admin(f, "GET", "/v1/ca/status", { token: "s3cret-token" });
      expect(ok.status).toBe(200);
      expect(ok.body.rotation).toMatchObject({ phase: "idle", supported: true, completed: 0 });
      expect(ok.body.bundle?.roots).toHaveLength(1);
      expect(ok.body.activeRoot?.sha256).toBe(ok.body.bundle?.roots[0]?.sha256);
      expect(ok.body["intermediate"]).toEqual({ notAfter: expect.any(String) });
      expect((await admin(f, "POST", "/v1/ca/rotate-root", { token: "s3cret-token", body: { force: "yes" } })).status).toBe(400);
      expect((await admin(f, "GET", "/v1/ca/rotate-root", { token: "s3cret-token" })).status).toBe(405);
    } finally {
      await f.stop();
    }
  });

  it("refuses to start with a token file group or others can read", async () => {
    const dir = await tempDir();
    const tokenFile = join(dir, "admin-token");
    await writeFile(tokenFile, "t\n");
    await chmod(tokenFile, 0o644);
    await expect(startCaFixture(["--admin-token-file", tokenFile])).rejects.toThrow(/accessible by group or others.*chmod 600/);
  });

  it("persists each step: a CA re-created from its data dir mid-rotation serves the same bundle, resumes and finishes", { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    // The restarted CA waits out --max-ttl-seconds for SVIDs it cannot know; 3 s keeps the test short.
    const args = ["--rate-limit-per-second", "0", "--max-ttl-seconds", "3"];
    let f = await startCaFixture(["--rate-limit-per-second", "0", "--max-ttl-seconds", "60"], dir);
    // A workload that follows no bundle holds a valid SVID: the rotation cannot switch past it.
    const client = f.client();
    await createCertificate(client, { csrPem: await csrFor("spiffe://cluster.local/ns/shop/sa/web"), validitySeconds: 60, workloadToken: await f.token({ ns: "shop", sa: "web" }) });
    client.close();
    const started = await admin(f, "POST", "/v1/ca/rotate-root", { body: {} });
    expect(started.status).toBe(202);
    expect(started.body.rotation).toMatchObject({ phase: "published", publishedVersion: 2 });
    expect(started.body.bundle?.roots).toHaveLength(2);
    const again = await admin(f, "POST", "/v1/ca/rotate-root");
    expect(again.status).toBe(409);
    expect(String(again.body["error"])).toContain('already under way (phase "published")');
    const status = await admin(f, "GET", "/v1/ca/status");
    expect(status.body.rotation?.["waitingFor"]).toEqual([expect.stringContaining("1 of 1 valid SVIDs were requested without the bundle version 2")]);
    expect((await stat(join(dir, "next-root-key.pem"))).mode & 0o777).toBe(0o600);
    const bundleBefore = f.ca.authority.bundle();
    await f.stop();

    f = await startCaFixture(args, dir);
    expect(f.ca.authority.bundle()).toEqual(bundleBefore);
    expect(f.ca.rotation.phase).toBe("published");
    // SVIDs issued before the restart are unknown to the new process: it waits out --max-ttl-seconds, then finishes.
    const done = await waitFor(() => admin(f, "GET", "/v1/ca/status"), (s) => s.body.rotation?.["completed"] === 1, "the resumed rotation to finish");
    expect(done.body.rotation).toMatchObject({ phase: "idle", completed: 1 });
    expect(done.body.bundle?.roots).toHaveLength(1);
    expect(done.body.bundle?.version).toBe(bundleBefore.version + 1);
    const newRoot = started.body.rotation?.["newRoot"] as { sha256: string };
    expect(done.body.activeRoot?.sha256).toBe(newRoot.sha256);
    const bundleAfter = f.ca.authority.bundle();
    await f.stop();

    // After the rotation the new root is the data dir's root; a restart keeps bundle and version.
    f = await startCaFixture(args, dir);
    try {
      expect(f.ca.authority.bundle()).toEqual(bundleAfter);
      expect(await readFile(join(dir, "root-cert.pem"), "utf8")).toBe(bundleAfter.rootsPem[0]);
      expect(JSON.parse(await readFile(join(dir, "rotation-state.json"), "utf8"))).toMatchObject({ phase: "idle", completed: 1, bundleVersion: bundleAfter.version });
    } finally {
      await f.stop();
    }
  });

  it("resumes the switched phase after a restart: same bundle, the new root signing, the old one still published", { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const args = ["--rate-limit-per-second", "0", "--max-ttl-seconds", "60"];
    let f = await startCaFixture(args, dir);
    const started = await admin(f, "POST", "/v1/ca/rotate-root");
    const publishedVersion = started.body.rotation?.["publishedVersion"] as number;
    // An SVID signed under the old root by a workload that holds the new bundle: the CA switches, but cannot retire.
    const client = f.client();
    await createCertificate(client, { csrPem: await csrFor("spiffe://cluster.local/ns/shop/sa/web"), validitySeconds: 60, workloadToken: await f.token({ ns: "shop", sa: "web" }), trustBundleVersion: publishedVersion });
    client.close();
    const switched = await waitFor(() => admin(f, "GET", "/v1/ca/status"), (s) => s.body.rotation?.["phase"] === "switched", "the switch");
    expect(switched.body.rotation?.["waitingFor"]).toEqual([expect.stringContaining("1 of 1 valid SVIDs still chain to the old root")]);
    const newRoot = started.body.rotation?.["newRoot"] as { sha256: string };
    expect(switched.body.activeRoot?.sha256).toBe(newRoot.sha256);
    const bundleBefore = f.ca.authority.bundle();
    await f.stop();

    f = await startCaFixture(args, dir);
    try {
      expect(f.ca.authority.bundle()).toEqual(bundleBefore);
      const resumed = await admin(f, "GET", "/v1/ca/status");
      expect(resumed.body.rotation).toMatchObject({ phase: "switched", newRoot });
      expect(resumed.body.activeRoot?.sha256).toBe(newRoot.sha256);
      expect(resumed.body.rotation?.["waitingFor"]).toEqual([expect.stringContaining("issued before the CA restarted are unknown until")]);
      const forced = await admin(f, "POST", "/v1/ca/rotate-root", { body: { force: true } });
      expect(forced.body.rotation).toMatchObject({ phase: "idle", completed: 1 });
      expect(forced.body.bundle?.roots.map((r) => r.sha256)).toEqual([newRoot.sha256]);
    } finally {
      await f.stop();
    }
  });

  it("--force finishes a rotation at once, past unacknowledged SVIDs, and says what it skipped in the log", async () => {
    const f = await startCaFixture(["--rate-limit-per-second", "0"]);
    try {
      const client = f.client();
      await createCertificate(client, { csrPem: await csrFor("spiffe://cluster.local/ns/shop/sa/web"), validitySeconds: 600, workloadToken: await f.token({ ns: "shop", sa: "web" }) });
      client.close();
      const before = f.ca.authority.bundle();
      const forced = await admin(f, "POST", "/v1/ca/rotate-root", { body: { force: true } });
      expect(forced.status).toBe(202);
      expect(forced.body.rotation).toMatchObject({ phase: "idle", completed: 1 });
      expect(forced.body.bundle?.roots).toHaveLength(1);
      expect(forced.body.bundle?.version).toBe(before.version + 2); // published {old, new}, then retired the old
      expect(f.logLines.some((l) => l.includes("root rotation step forced by the operator") && l.includes("valid SVIDs"))).toBe(true);
    } finally {
      await f.stop();
    }
  });
});
