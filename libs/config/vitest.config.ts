import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@meshwork/source"] },
  test: {
    name: "config",
    include: ["src/**/*.test.ts", "tests/**/*.test.ts"],
    environment: "node",
  },
});
