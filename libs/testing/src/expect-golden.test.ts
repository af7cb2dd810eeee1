import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { expectGolden } from "./expect-golden.ts";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("expectGolden", () => {
  const golden = join(import.meta.dirname, "../testdata/data-driven/stack.golden");

  it("passes when the file holds exactly the text", () => {
    expectGolden(golden, "1 2 3\n");
  });

  it("fails when the text differs", () => {
    expect(() => expectGolden(golden, "1 2 3")).toThrow(/stack\.golden differs/);
  });

  it("fails when the golden file is missing, telling how to create it", () => {
    expect(() => expectGolden(join(tmpdir(), "no-such-dir-x", "a.golden"), "x")).toThrow(/UPDATE_TESTDATA=1/);
  });

  it("writes the file with UPDATE_TESTDATA=1, creating directories", () => {
    const path = join(mkdtempSync(join(tmpdir(), "golden-")), "deep", "a.golden");
    vi.stubEnv("UPDATE_TESTDATA", "1");
    expectGolden(path, "hello\n");
    expect(readFileSync(path, "utf8")).toBe("hello\n");
  });
});
