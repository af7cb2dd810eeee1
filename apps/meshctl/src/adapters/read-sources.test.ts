import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSources, readTextFile, STDIN_PATH } from "./read-sources.ts";

let root = "";
const noStdin = { readStdin: () => Promise.reject(new Error("stdin must not be read")) };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshctl-read-sources-"));
  await mkdir(join(root, "config", "b-nested"), { recursive: true });
  await mkdir(join(root, "empty", "inner"), { recursive: true });
  await writeFile(join(root, "config", "z.yaml"), "z");
  await writeFile(join(root, "config", "a.yml"), "a");
  await writeFile(join(root, "config", "c.json"), "{}");
  await writeFile(join(root, "config", "notes.txt"), "not config");
  await writeFile(join(root, "config", "b-nested", "m.yaml"), "m");
  await writeFile(join(root, "empty", "inner", "readme.md"), "#");
  await writeFile(join(root, "plain.txt"), "kind: List");
  await symlink(join(root, "config", "a.yml"), join(root, "config", "link.yaml"));
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe("readSources", () => {
  it("walks directories recursively in name order, keeping only .yaml, .yml and .json", async () => {
    const result = await readSources([join(root, "config")], noStdin);
    if (!result.ok) throw new Error(result.reason);
    expect(result.sources.map((s) => s.path.slice(root.length + 1))).toEqual([
      "config/a.yml",
      "config/b-nested/m.yaml",
      "config/c.json",
      "config/link.yaml",
      "config/z.yaml",
    ]);
    expect(result.sources[0]?.text).toBe("a");
  });

  it("reads files named explicitly whatever their extension, in the order given", async () => {
    const result = await readSources([join(root, "plain.txt"), join(root, "config", "a.yml")], noStdin);
    expect(result.ok && result.sources.map((s) => s.text)).toEqual(["kind: List", "a"]);
  });

  it('reads "-" from stdin once, labelled <stdin>', async () => {
    let reads = 0;
    const readStdin = () => Promise.resolve(`stdin ${++reads}`);
    const result = await readSources(["-", join(root, "config", "z.yaml")], { readStdin });
    expect(result.ok && result.sources).toEqual([
      { path: STDIN_PATH, text: "stdin 1" },
      { path: join(root, "config", "z.yaml"), text: "z" },
    ]);
    expect(await readSources(["-", "-"], { readStdin })).toEqual({ ok: false, path: "-", reason: "stdin can be read only once" });
  });

  it("fails on a missing path, naming it", async () => {
    const missing = join(root, "nope.yaml");
    expect(await readSources([join(root, "config", "a.yml"), missing], noStdin)).toEqual({
      ok: false,
      path: missing,
      reason: "no such file or directory",
    });
  });

  it("fails on a directory without config files", async () => {
    const empty = join(root, "empty");
    expect(await readSources([empty], noStdin)).toEqual({
      ok: false,
      path: empty,
      reason: "the directory holds no .yaml, .yml or .json files",
    });
  });
});

describe("readTextFile", () => {
  it("reads a file, and fails on a directory", async () => {
    expect(await readTextFile(join(root, "config", "z.yaml"))).toEqual({ ok: true, source: { path: join(root, "config", "z.yaml"), text: "z" } });
    expect(await readTextFile(join(root, "config"))).toEqual({ ok: false, path: join(root, "config"), reason: "it is a directory" });
  });
});
