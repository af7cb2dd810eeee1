// Runs every project's vitest suite in one process (used by `npm test`); each project keeps its
// own vitest.config.ts, which `nx test <project>` uses alone.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["apps/*/vitest.config.ts", "libs/*/vitest.config.ts", "e2e/vitest.config.ts"],
  },
});
