// Guards the committed code in src/gen: buf lint must pass and a fresh `buf generate` must produce
// byte-identical files, so an edited .proto without `nx run protocol:generate` fails here.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const projectRoot = join(import.meta.dirname, "..");
const buf = join(projectRoot, "../../node_modules/.bin/buf");

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

describe("generated code", () => {
  let outDir: string | undefined;
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it("passes buf lint", { timeout: 60_000 }, async () => {
    await expect(run(buf, ["lint"], { cwd: projectRoot })).resolves.toBeDefined();
  });

  it("matches a fresh buf generate", { timeout: 60_000 }, async () => {
    outDir = await mkdtemp(join(tmpdir(), "protocol-gen-"));
    await run(buf, ["generate", "-o", outDir], { cwd: projectRoot });
    const fresh = join(outDir, "src/gen");
    const committed = join(projectRoot, "src/gen");
    const files = await listFiles(fresh);
    expect(files.length).toBeGreaterThan(0);
    expect(await listFiles(committed)).toEqual(files);
    for (const file of files) {
      const [want, got] = await Promise.all([readFile(join(fresh, file), "utf8"), readFile(join(committed, file), "utf8")]);
      expect(got, `${file} is stale: run \`nx run protocol:generate\``).toBe(want);
    }
  });
});
