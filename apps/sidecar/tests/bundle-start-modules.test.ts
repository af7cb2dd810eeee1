// What the bundled sidecar (bundle-sidecar.mjs, what the image runs) loads at start: main.js and
// the chunks it imports statically. Modules an idle sidecar does not need stay out of that set,
// behind dynamic imports, because each costs resident memory in every pod (bench/proxy/README.md,
// "Idle memory"): node:http2 and the HTTP/2 path load with the first HTTP/2 connection, node:https
// with the first https JWKS fetch or HTTPS probe, node:tls and node:crypto with the first TLS or
// JWT work (src/lazy-builtins.ts), of prom-client only the registry and the counter are bundled
// (its index would run the default metrics, the Pushgateway and @opentelemetry/api), and of
// @meshwork/config only the entries that build no schemas (its index would load TypeBox, both
// YAML parsers and every rule: ~2.5 MB of resident memory), and the DNS proxy only with
// --dns-port or --dns-capture.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bundler = fileURLToPath(new URL("../bundle-sidecar.mjs", import.meta.url));

interface Metafile {
  readonly inputs: Record<string, unknown>;
  readonly outputs: Record<string, { readonly entryPoint?: string; readonly inputs: Record<string, unknown>; readonly imports: readonly { readonly path: string; readonly kind: string; readonly external?: boolean }[] }>;
}

let work: string;
let meta: Metafile;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sidecar-bundle-start-"));
  const metafile = join(work, "meta.json");
  execFileSync(process.execPath, [bundler, "--outdir", join(work, "bundle"), "--metafile", metafile], { stdio: "ignore" });
  meta = JSON.parse(await readFile(metafile, "utf8")) as Metafile;
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** main.js and every chunk reachable from it by static imports: what Node loads before the sidecar runs. */
function loadedAtStart(): { inputs: Set<string>; builtins: Set<string>; lazy: Set<string> } {
  const outputs = Object.keys(meta.outputs);
  const main = outputs.find((o) => o.endsWith("/main.js"));
  if (main === undefined) throw new Error(`no main.js among the bundle's outputs: ${outputs.join(", ")}`);
  const inputs = new Set<string>();
  const builtins = new Set<string>();
  const lazy = new Set<string>();
  const seen = new Set<string>();
  const stack = [main];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const output = meta.outputs[name];
    if (output === undefined) throw new Error(`the metafile names ${name} but has no output for it`);
    for (const input of Object.keys(output.inputs)) inputs.add(input);
    for (const imported of output.imports) {
      if (imported.external) {
        if (imported.kind === "import-statement" || imported.kind === "require-call") builtins.add(imported.path.replace(/^node:/, ""));
      } else if (imported.kind === "import-statement") stack.push(imported.path);
      else if (imported.kind === "dynamic-import") lazy.add(imported.path);
    }
  }
  return { inputs, builtins, lazy };
}

describe("the bundled sidecar at start", () => {
  it("does not load the HTTP/2 path, node:https, zlib, node:tls, node:crypto or perf_hooks", () => {
    const start = loadedAtStart();
    expect([...start.builtins].filter((b) => ["http2", "https", "zlib", "tls", "crypto", "perf_hooks"].includes(b))).toEqual([]);
    expect([...start.inputs].filter((i) => i.includes("/src/http2/") && !/\/(load-http2-handler|upstream-sessions|grpc-status)\.ts$/.test(i))).toEqual([]);
    // ...which the first HTTP/2 connection loads.
    const handlerChunk = Object.entries(meta.outputs).find(([, o]) => o.entryPoint?.endsWith("src/http2/handle-http2-connection.ts"));
    expect(handlerChunk && start.lazy.has(handlerChunk[0])).toBe(true);
  });

  it("bundles only prom-client's registry and counter, not its index, default metrics or @opentelemetry/api", () => {
    const start = loadedAtStart();
    const prom = [...start.inputs].filter((i) => i.includes("node_modules/prom-client/")).map((i) => i.replace(/.*node_modules\/prom-client\//, ""));
    expect(prom).toContain("lib/registry.js");
    expect(prom).toContain("lib/counter.js");
    expect(prom.filter((p) => p === "index.js" || p.startsWith("lib/metrics/") || /lib\/(defaultMetrics|pushgateway|summary)\.js$/.test(p))).toEqual([]);
    expect([...start.inputs].filter((i) => i.includes("@opentelemetry/"))).toEqual([]);
  });

  it("does not load the DNS proxy (src/dns, node:dgram) or the DNS wire codec: --dns-port / --dns-capture load them", () => {
    const start = loadedAtStart();
    expect([...start.builtins].filter((b) => b === "dgram")).toEqual([]);
    expect([...start.inputs].filter((i) => i.includes("apps/sidecar/src/dns/") || i.includes("libs/protocol/src/dns/"))).toEqual([]);
    const dnsChunk = Object.entries(meta.outputs).find(([, o]) => o.entryPoint?.endsWith("src/dns/start-dns-proxy.ts"));
    expect(dnsChunk && start.lazy.has(dnsChunk[0])).toBe(true);
  });

  it("does not load @meshwork/config's schemas, rules or YAML parsers (only its light entries: gateway-api, cel-expression, host names, ...)", () => {
    const start = loadedAtStart();
    const heavy = [...start.inputs].filter((i) => /node_modules\/(js-yaml|yaml|@sinclair\/typebox)\//.test(i) || (/libs\/config\/src\/(schema|rules|analysis)\//.test(i) && !i.endsWith("rules/host-names.ts")) || i.endsWith("libs/config/src/index.ts"));
    expect(heavy).toEqual([]);
  });
});
