import { describe, expect, it } from "vitest";
import { launcherNodeFlags } from "./launcher-node-flags.ts";

describe("launcherNodeFlags", () => {
  it("reads the flags of an env -S node shebang", () => {
    expect(launcherNodeFlags("#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1 --expose-gc\n// x\n")).toEqual(["--max-semi-space-size=1", "--v8-pool-size=1", "--expose-gc"]);
    expect(launcherNodeFlags("#!/usr/bin/env -S node --expose-gc")).toEqual(["--expose-gc"]);
  });

  it("gives none for a plain node shebang, no shebang, or words that are not flags", () => {
    expect(launcherNodeFlags("#!/usr/bin/env node\nmain();\n")).toEqual([]);
    expect(launcherNodeFlags("#!/usr/bin/env -S node\n")).toEqual([]);
    expect(launcherNodeFlags("// no shebang\n")).toEqual([]);
    expect(launcherNodeFlags("#!/usr/bin/env -S node script.js --flag\n")).toEqual(["--flag"]);
  });
});
