// Runs every data-driven interaction scenario in testdata/ (rewrite outputs with UPDATE_TESTDATA=1
// and review the diff).
import { basename, join } from "node:path";
import { describe, it } from "vitest";
import { listTestdataFiles, runDataDriven } from "@meshwork/testing";
import { createInteractionHandler } from "./interaction-env.ts";

describe("interaction scenarios (testdata/*.txt)", () => {
  for (const file of listTestdataFiles(join(import.meta.dirname, "../testdata"), ".txt")) {
    it(basename(file, ".txt"), () => {
      runDataDriven(file, createInteractionHandler());
    });
  }
});
