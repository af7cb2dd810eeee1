// The architecture rule of DESIGN.md §2, enforced by the root eslint.config.mjs: source files of
// the pure libs may not do I/O, read the clock or use randomness, and config imports only its
// short list of data packages. Linting probe texts proves the rule bites.
import { join } from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../../..");
const eslint = new ESLint({ cwd: root });

async function ruleIds(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message).sort();
}

// The first lint builds Nx's project graph, which takes seconds on a loaded machine.
describe("pure libs", { timeout: 60_000 }, () => {
  it.each(["libs/config/src/probe.ts", "libs/raft/src/probe.ts", "libs/proxy-core/src/probe.ts", "libs/pki/src/probe.ts"])(
    "%s may not import Node built-ins or use the clock, timers or randomness",
    async (file) => {
      const code = 'import { readFileSync } from "node:fs";\nimport net from "net";\nexport const x = [readFileSync, net, Date.now(), Math.random(), setTimeout];\n';
      expect(await ruleIds(file, code)).toEqual(["no-restricted-globals", "no-restricted-imports", "no-restricted-imports", "no-restricted-properties", "no-restricted-properties"]);
    },
  );

  it("libs/config may not import network packages", async () => {
    expect(await ruleIds("libs/config/src/probe.ts", 'import fastCheck from "fast-check";\nexport const x = fastCheck;\n')).toEqual(["@nx/enforce-module-boundaries"]);
  });

  it("their tests may read files", async () => {
    expect(await ruleIds("libs/config/src/probe.test.ts", 'import { readFileSync } from "node:fs";\nexport const x = readFileSync;\n')).toEqual([]);
  });

  it("apps may do I/O", async () => {
    expect(await ruleIds("apps/meshctl/src/probe.ts", 'import { readFileSync } from "node:fs";\nexport const x = [readFileSync, Date.now()];\n')).toEqual([]);
  });
});
