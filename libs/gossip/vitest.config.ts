import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Tests run in vite's server (ssr) environment, which takes its own resolve conditions: without
// "@meshwork/source" there, workspace libs would resolve to their (possibly stale) dist/.
const conditions = ["@meshwork/source", ...defaultServerConditions];

export default defineConfig({
  root: import.meta.dirname,
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    name: "gossip",
    include: ["src/**/*.test.ts", "tests/**/*.test.ts"],
    environment: "node",
  },
});
