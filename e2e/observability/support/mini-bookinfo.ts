// A bookinfo-shaped mesh for the observability suites: productpage → details, productpage →
// reviews v1/v2/v3, reviews v2/v3 → ratings; each app a small HTTP server in the test process
// behind its own real sidecar process (standalone mode, ServiceEntries naming the other sidecars'
// inbound ports, plain HTTP). Apps pass trace headers on, as bookinfo does. Ratings can be made
// to fail (503) to turn its part of the graph red.
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually, startChild, type Child } from "./processes.ts";

export interface Workload {
  readonly app: "productpage" | "details" | "reviews" | "ratings";
  readonly version: "v1" | "v2" | "v3";
  readonly name: string;
}

export const workloads: readonly Workload[] = (
  [
    ["productpage", "v1"],
    ["details", "v1"],
    ["reviews", "v1"],
    ["reviews", "v2"],
    ["reviews", "v3"],
    ["ratings", "v1"],
  ] as const
).map(([app, version]) => ({ app, version, name: `${app}-${version}` }));

export interface RunningWorkload extends Workload {
  readonly sidecar: Child;
  readonly ports: { readonly outbound: number; readonly inbound: number; readonly admin: number; readonly stats: number };
  /** http://127.0.0.1:PORT/stats/prometheus */
  readonly statsUrl: string;
}

export interface MiniBookinfo {
  readonly dir: string;
  readonly workloads: readonly RunningWorkload[];
  /** Every visit so far, with what productpage answered ("details=200 ...\nreviews=200 reviews-v2 stars=5"). */
  readonly visits: readonly { readonly status: number; readonly body: string }[];
  /** GET /productpage through productpage's sidecar (inbound), with extra headers. */
  visit(headers?: Record<string, string>): Promise<{ status: number; body: string }>;
  /** Waits until ten visits in a row succeed end to end (after other processes started: sidecars shed load while the CPU is starved). */
  settle(): Promise<void>;
  setRatingsFailing(failing: boolean): void;
  stop(): Promise<void>;
}

const traceHeaders = ["traceparent", "tracestate", "x-request-id", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "b3"];

function call(outboundPort: number, service: string, path: string, incoming: IncomingHttpHeaders): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = { host: `${service}.default.svc.cluster.local:9080` };
  for (const name of traceHeaders) {
    const value = incoming[name];
    if (typeof value === "string") headers[name] = value;
  }
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port: outboundPort, path, method: "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", (error) => resolve({ status: 0, body: error.message }));
    req.end();
  });
}

export function serviceEntries(running: readonly RunningWorkload[]): string {
  const apps = [...new Set(running.map((w) => w.app))];
  return apps
    .map((app) => {
      const endpoints = running
        .filter((w) => w.app === app)
        .map((w) => `    - address: 127.0.0.1\n      ports: { http: ${w.ports.inbound} }\n      labels: { app: ${w.app}, version: ${w.version} }`)
        .join("\n");
      return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${app}, namespace: default }
spec:
  hosts: [${app}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: 9080, name: http, protocol: HTTP }
  endpoints:
${endpoints}
`;
    })
    .join("---\n");
}

export interface MiniBookinfoOptions {
  readonly otlpEndpoint?: string;
  readonly traceSampling?: number;
  /**
   * Managed mode: the sidecars take their config from the control plane at `discoveryAddress`
   * (and report their traffic to it); the ServiceEntries go into `configDir`, the control plane's --config-dir.
   */
  readonly managed?: { readonly discoveryAddress: string; readonly configDir: string };
  /** More flags for a workload's sidecar (its identity source: --ca-address ...). */
  readonly sidecarArgs?: (workload: Workload) => readonly string[];
}

export async function startMiniBookinfo(options: MiniBookinfoOptions = {}): Promise<MiniBookinfo> {
  const dir = await mkdtemp(join(tmpdir(), "mini-bookinfo-"));
  await writeFile(join(dir, "mesh.yaml"), "");
  let ratingsFailing = false;
  const outboundOf = new Map<string, number>();
  const servers: Server[] = [];
  const appPorts = new Map<string, number>();
  for (const w of workloads) {
    const server = createServer((req, res) => {
      void (async () => {
        const out = outboundOf.get(w.name) ?? 0;
        if (w.app === "productpage") {
          const details = await call(out, "details", "/details/0", req.headers);
          const reviews = await call(out, "reviews", "/reviews/0", req.headers);
          res.writeHead(200, { "content-type": "text/plain" }).end(`details=${details.status} ${details.body}\nreviews=${reviews.status} ${reviews.body}\n`);
        } else if (w.app === "reviews") {
          if (w.version === "v1") return void res.end(`reviews-${w.version} no stars`);
          const ratings = await call(out, "ratings", "/ratings/0", req.headers);
          res.end(ratings.status === 200 ? `reviews-${w.version} ${ratings.body}` : `reviews-${w.version} ratings unavailable (${ratings.status})`);
        } else if (w.app === "ratings") {
          if (ratingsFailing) res.writeHead(503).end("ratings failing");
          else res.end("stars=5");
        } else {
          res.end("details: paperback");
        }
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    appPorts.set(w.name, (server.address() as { port: number }).port);
  }
  const tracing = options.otlpEndpoint !== undefined ? ["--otlp-endpoint", options.otlpEndpoint, "--trace-sampling", String(options.traceSampling ?? 100)] : ["--trace-sampling", "0"];
  const started = await Promise.all(
    workloads.map(async (w): Promise<RunningWorkload> => {
      const sidecar = startChild(`${w.name} sidecar`, "apps/sidecar/src/main.ts", [
        ...(options.managed !== undefined ? ["--discovery-address", options.managed.discoveryAddress] : ["--config", dir]),
        ...(options.sidecarArgs?.(w) ?? []),
        "--namespace", "default",
        "--workload-name", w.name,
        "--labels", `app=${w.app},version=${w.version}`,
        "--app-port", String(appPorts.get(w.name)),
        "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0", "--stats-port", "0",
        "--access-log", "off",
        ...tracing,
      ]);
      const line = await sidecar.waitForLine("sidecar started", 120_000);
      const ports = line["ports"] as RunningWorkload["ports"];
      outboundOf.set(w.name, ports.outbound);
      return { ...w, sidecar, ports, statsUrl: `http://127.0.0.1:${ports.stats}/stats/prometheus` };
    }),
  );
  // Written aside and renamed, so no sidecar reads a half-written file.
  const configDir = options.managed?.configDir ?? dir;
  await writeFile(join(configDir, ".mesh.yaml.tmp"), serviceEntries(started));
  await rename(join(configDir, ".mesh.yaml.tmp"), join(configDir, "mesh.yaml"));
  const productpage = started.find((w) => w.app === "productpage");
  if (productpage === undefined) throw new Error("no productpage workload");
  const visits: { status: number; body: string }[] = [];
  const visit = (headers: Record<string, string> = {}): Promise<{ status: number; body: string }> =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: productpage.ports.inbound, path: "/productpage", headers: { host: "productpage.default.svc.cluster.local:9080", ...headers } }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    }).then((page) => {
      visits.push(page);
      return page;
    });
  // Every sidecar has the ServiceEntries, and none sheds load (503 OM while the machine is busy, as
  // when processes start), once ten visits in a row reach details, every reviews and ratings.
  const shedding = async (): Promise<boolean> => {
    const stats = await Promise.all(started.map(async (w) => (await fetch(`http://127.0.0.1:${w.ports.admin}/stats`)).text()));
    return stats.some((text) => !/^overload\.active: 0$/m.test(text));
  };
  const settle = async (): Promise<void> => {
    // The overload monitor decides once a second: quiet twice in a row, a second apart.
    await eventually("no sidecar to shed load", async () => ((await shedding()) ? undefined : true), 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await eventually("no sidecar to shed load", async () => ((await shedding()) ? undefined : true), 60_000);
    await eventually(
      "every visit to reach details, reviews and ratings",
      async () => {
        const pages = [];
        for (let i = 0; i < 10; i++) pages.push(await visit());
        const ok = pages.every((p) => p.status === 200 && p.body.includes("details=200") && p.body.includes("reviews=200") && !p.body.includes("unavailable"));
        return ok ? pages : undefined;
      },
      90_000,
    );
  };
  await settle();
  return {
    dir,
    workloads: started,
    visits,
    visit,
    settle,
    setRatingsFailing: (failing) => void (ratingsFailing = failing),
    stop: async () => {
      await Promise.all(started.map((w) => w.sidecar.stop()));
      for (const s of servers) s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
