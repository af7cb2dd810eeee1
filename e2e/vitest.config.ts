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
    // istio-tasks/ and drills/ share one local mesh (started on first use, stopped at the end of
    // the run): their files must not run at the same time.
    fileParallelism: false,
    globalSetup: ["istio-tasks/support/global-setup.ts"],
  },
});
