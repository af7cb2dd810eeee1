import { defineConfig } from "vitest/config";

export default defineConfig({
  root: import.meta.dirname,
  test: {
    name: "e2e",
    include: ["**/*.e2e.test.ts"],
    environment: "node",
    // Each suite builds what it runs; builds on a loaded 2-core machine take a while.
    hookTimeout: 180_000,
    testTimeout: 60_000,
  },
});
