// The Dockerfiles cannot be built here (no container engine); this checks what can be read:
// every app has one, multi-stage from a pinned Node 20 base, non-root, with a healthcheck, and the
// entry point is the app's built main.js (the file `nx build` produces).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./render-kustomize.ts";

const apps = readdirSync(join(repoRoot, "apps"), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(repoRoot, "apps", e.name, "src/main.ts")))
  .map((e) => e.name)
  .sort();

describe.each(apps)("apps/%s/Dockerfile", (app) => {
  const file = join(repoRoot, "apps", app, "Dockerfile");

  it("exists, builds in a separate stage from a pinned Node 20 image and runs the built entry as non-root", () => {
    expect(existsSync(file), `apps/${app} has no Dockerfile`).toBe(true);
    const text = readFileSync(file, "utf8");
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const image of froms) expect(image).toMatch(/^node:20\.\d+\.\d+-[a-z-]+$/);
    expect(text).toMatch(/^FROM \S+ AS build$/m);
    expect(text).toMatch(new RegExp(`^RUN npx tsc -b apps/${app}/tsconfig.lib.json`, "m"));
    const users = [...text.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toMatch(/^[1-9][0-9]*(:[1-9][0-9]*)?$/);
    expect(text).toMatch(/^HEALTHCHECK /m);
    // Node flags may precede the entry (the V8 memory flags of the sidecar and the registry); the
    // entry is the tsc build or, for the sidecar, the bundle made from it in the build stage.
    const entry = new RegExp(`ENTRYPOINT \\["node", (?:"--[a-z0-9-]+(?:=[^"]*)?", )*"/app/apps/${app}/dist/(bundle/)?main\\.js"\\]`).exec(text);
    expect(entry, `apps/${app}/Dockerfile: ENTRYPOINT ["node", flags..., "/app/apps/${app}/dist/main.js"]`).not.toBeNull();
    if (entry?.[1] !== undefined) expect(text).toMatch(new RegExp(`^RUN node apps/${app}/bundle-${app}\\.mjs$`, "m"));
  });
});
