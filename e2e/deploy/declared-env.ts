// The MESHWORK_* environment variables an app declares (its defineSettings `env:` fields), read
// from its source text, so manifests can be checked for misspelt or stale settings without
// loading the apps.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./render-kustomize.ts";

/**
 * Settings that deploy/ sets although no app declares them yet: the names
 * docs/design/kubernetes.md proposes for work in progress. Remove each once its app has it.
 */
export const placeholderEnv: ReadonlySet<string> = new Set<string>([]);

const cache = new Map<string, Set<string>>();

/** Env vars declared under apps/<app>/src (tests excluded). */
export function declaredEnv(app: string): Set<string> {
  const cached = cache.get(app);
  if (cached) return cached;
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
        for (const match of readFileSync(path, "utf8").matchAll(/env: "(MESHWORK_[A-Z0-9_]+)"/g)) names.add(match[1] as string);
      }
    }
  };
  walk(join(repoRoot, "apps", app, "src"));
  if (names.size === 0) throw new Error(`apps/${app}/src declares no MESHWORK_* settings: is the app name right?`);
  cache.set(app, names);
  return names;
}

/** The app an image runs: ghcr.io/meshwork/<app>:<tag> → <app>; other images → undefined. */
export function appOfImage(image: string): string | undefined {
  return /^ghcr\.io\/meshwork\/([a-z-]+)[:@]/.exec(image)?.[1];
}

/** Problems with `env` names for `image`: not declared by the app and not a known placeholder. */
export function checkEnvNames(where: string, image: string, env: readonly string[]): string[] {
  const app = appOfImage(image);
  if (app === undefined) return [];
  const declared = declaredEnv(app);
  return env
    .filter((name) => name.startsWith("MESHWORK_") && !declared.has(name) && !placeholderEnv.has(name))
    .map((name) => `${where}: ${name} is not a setting of apps/${app} (misspelt, or add it to placeholderEnv in e2e/deploy/declared-env.ts with a note)`);
}
