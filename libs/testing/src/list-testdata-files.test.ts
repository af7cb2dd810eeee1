import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listTestdataFiles } from "./list-testdata-files.ts";

describe("listTestdataFiles", () => {
  it("lists matching files recursively and sorted, skipping dotfiles", () => {
    const dir = mkdtempSync(join(tmpdir(), "testdata-"));
    mkdirSync(join(dir, "sub"));
    for (const name of ["b.txt", "a.txt", ".hidden.txt", "c.golden", "sub/d.txt"]) writeFileSync(join(dir, name), "");
    expect(listTestdataFiles(dir, ".txt").map((f) => f.slice(dir.length + 1))).toEqual(["a.txt", "b.txt", "sub/d.txt"]);
  });

  it("throws when nothing matches, so an empty suite cannot pass", () => {
    expect(() => listTestdataFiles(mkdtempSync(join(tmpdir(), "testdata-")), ".txt")).toThrow(/no testdata files/);
  });
});
