// Lint for the whole workspace. Besides style, it enforces the architecture of DESIGN.md §2:
// pure libs (tag purity:pure) import only pure libs and a short list of data packages, and their
// source uses no Node built-ins, network packages, timers, clocks or randomness.
import nx from "@nx/eslint-plugin";

/** Packages a pure lib may import: data handling only, no I/O. */
const pureExternalImports = ["@sinclair/typebox", "@sinclair/typebox/*", "yaml", "js-yaml", "@peculiar/x509", "reflect-metadata"];

/** Node built-ins, by both spellings; pure sources may import none. */
const nodeBuiltins = [
  "assert", "async_hooks", "buffer", "child_process", "cluster", "crypto", "dgram", "diagnostics_channel", "dns",
  "events", "fs", "fs/promises", "http", "http2", "https", "inspector", "module", "net", "os", "path", "perf_hooks",
  "process", "readline", "stream", "timers", "tls", "tty", "url", "util", "v8", "vm", "worker_threads", "zlib",
];

export default [
  {
    ignores: ["**/node_modules/**", "**/dist/**", "**/out-tsc/**", "**/.nx/**", "**/*.timestamp*", ".meshwork/**", "**/testdata/**", "libs/protocol/src/gen/**"],
  },
  ...nx.configs["flat/base"],
  ...nx.configs["flat/typescript"],
  ...nx.configs["flat/javascript"],
  {
    files: ["**/*.ts", "**/*.mjs", "**/*.js"],
    rules: {
      "@nx/enforce-module-boundaries": [
        "error",
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: "type:lib", notDependOnLibsWithTags: ["type:app"] },
            { sourceTag: "type:app", notDependOnLibsWithTags: ["type:app"] },
            {
              sourceTag: "purity:pure",
              onlyDependOnLibsWithTags: ["purity:pure"],
              allowedExternalImports: pureExternalImports,
            },
          ],
        },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-namespace": "error",
      "no-restricted-syntax": [
        "error",
        { selector: "TSEnumDeclaration", message: "Use a union of string literals instead of an enum (STYLE.md)." },
      ],
    },
  },
  {
    // The e2e suite (not an npm workspace: Nx infers the project without its package.json tags)
    // drives the apps as processes; of the libraries it uses the test kit only.
    files: ["e2e/**/*.ts"],
    rules: {
      "@nx/enforce-module-boundaries": ["error", { enforceBuildableLibDependency: false, depConstraints: [{ sourceTag: "*", onlyDependOnLibsWithTags: ["scope:testing"] }] }],
    },
  },
  {
    // Tests and tools of a pure lib run in Node and may use test libraries and Node's I/O.
    files: ["libs/*/src/**/*.test.ts", "libs/*/tests/**/*.ts", "libs/*/tools/**/*.ts", "libs/*/vitest.config.ts"],
    rules: {
      "@nx/enforce-module-boundaries": [
        "error",
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            { sourceTag: "type:lib", notDependOnLibsWithTags: ["type:app"] },
            // Tests may also use the shared test kit (libs/testing: simulators, fake clock, golden files).
            { sourceTag: "purity:pure", onlyDependOnLibsWithTags: ["purity:pure", "scope:testing"] },
          ],
        },
      ],
    },
  },
  {
    // Pure cores: no I/O, no clock, no randomness unless injected (DESIGN.md §2). Tests may read testdata.
    files: ["libs/config/src/**/*.ts", "libs/raft/src/**/*.ts", "libs/proxy-core/src/**/*.ts", "libs/pki/src/**/*.ts", "libs/gossip/src/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: nodeBuiltins.map((name) => ({ name, message: "Pure libs do no I/O: move this to an app's adapters/ and inject it." })),
          patterns: [{ group: ["node:*"], message: "Pure libs do no I/O: move this to an app's adapters/ and inject it." }],
        },
      ],
      "no-restricted-globals": [
        "error",
        ...["setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "process", "fetch", "require"].map((name) => ({
          name,
          message: "Pure libs take time, randomness and I/O as inputs; inject it.",
        })),
      ],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "Pure libs take the time as an input." },
        { object: "Math", property: "random", message: "Pure libs take randomness (a seeded source) as an input." },
        { object: "performance", property: "now", message: "Pure libs take the time as an input." },
      ],
    },
  },
];
