// The console's browser files: the page and its stylesheet (console-page.ts), the app
// (web/console-app.ts, compiled for the browser on first request and kept in memory) and
// Cytoscape.js's own minified build from node_modules (no CDN).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { consoleCss, consoleHtml } from "./console-page.ts";

export interface ConsoleAsset {
  readonly body: string;
  readonly contentType: string;
}

const webDir = fileURLToPath(new URL("./web/", import.meta.url));

let app: Promise<string> | undefined;
let cytoscape: Promise<string> | undefined;

/**
 * The app as one ES module. From source: web/console-app.ts bundled by esbuild (its import of
 * cytoscape is types only: the page loads the library as a global). Built (dist/): tsc already
 * compiled it to web/console-app.js, which imports nothing.
 */
export function consoleAppScript(): Promise<string> {
  app ??= (async () => {
    if (!existsSync(`${webDir}console-app.ts`)) return readFile(`${webDir}console-app.js`, "utf8");
    const esbuild = await import("esbuild");
    const result = await esbuild.build({
      entryPoints: [`${webDir}console-app.ts`],
      bundle: true,
      format: "esm",
      target: "es2022",
      minify: true,
      write: false,
      logLevel: "silent",
    });
    return result.outputFiles[0]?.text ?? "";
  })();
  app.catch(() => (app = undefined));
  return app;
}

/** The path of Cytoscape.js's UMD build, resolved through the control plane's dependency. */
export function cytoscapePath(): string {
  return createRequire(import.meta.url).resolve("cytoscape/dist/cytoscape.min.js");
}

export function cytoscapeScript(): Promise<string> {
  cytoscape ??= readFile(cytoscapePath(), "utf8");
  cytoscape.catch(() => (cytoscape = undefined));
  return cytoscape;
}

export async function consoleAsset(name: string): Promise<ConsoleAsset | undefined> {
  switch (name) {
    case "index.html":
      return { body: consoleHtml, contentType: "text/html; charset=utf-8" };
    case "console.css":
      return { body: consoleCss, contentType: "text/css; charset=utf-8" };
    case "console-app.js":
      return { body: await consoleAppScript(), contentType: "text/javascript; charset=utf-8" };
    case "cytoscape.min.js":
      return { body: await cytoscapeScript(), contentType: "text/javascript; charset=utf-8" };
    default:
      return undefined;
  }
}
