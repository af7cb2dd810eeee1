import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Tests run in vite's server (ssr) environment, which takes its own resolve conditions: without
// "@meshwork/source" there, workspace libs would resolve to their (possibly stale) dist/.
// "module" would reach Node as --conditions=module (vitest passes these to its workers), and require()
// of @opentelemetry/* (prom-client uses it) would then load their bundler-only ESM builds.
const conditions = ["@meshwork/source", ...defaultServerConditions.filter((c) => c !== "module")];

export default defineConfig({
  root: import.meta.dirname,
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    name: "control-plane",
    include: ["src/**/*.test.ts", "tests/**/*.test.ts"],
    environment: "node",
  },
});
