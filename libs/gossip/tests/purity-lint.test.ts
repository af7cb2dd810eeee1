// libs/gossip is a pure lib (DESIGN.md §2): the root eslint.config.mjs must forbid its sources
// I/O, the clock, timers and randomness. Linting a probe text proves the rule bites here too
// (libs/config/tests/purity-lint.test.ts does the same for the other pure libs).
import { join } from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../../..");

describe("libs/gossip purity", { timeout: 120_000 }, () => {
  it("its sources may not import Node built-ins or use the clock, timers or randomness", async () => {
    const eslint = new ESLint({ cwd: root });
    const code = 'import { createSocket } from "node:dgram";\nimport crypto from "crypto";\nexport const x = [createSocket, crypto, Date.now(), Math.random(), setTimeout];\n';
    const [result] = await eslint.lintText(code, { filePath: join(root, "libs/gossip/src/probe.ts") });
    const ids = (result?.messages ?? []).map((m) => m.ruleId ?? m.message).sort();
    expect(ids).toEqual(["no-restricted-globals", "no-restricted-imports", "no-restricted-imports", "no-restricted-properties", "no-restricted-properties"]);
  });
});
