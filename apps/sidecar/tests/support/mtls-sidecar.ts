// An in-process sidecar (startSidecar with real listeners on port 0) for the mutual-TLS tests,
// with its log lines and access log captured.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readSettings } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { sidecarSettings } from "../../src/sidecar-settings.ts";
import { startSidecar, type RunningSidecar } from "../../src/start-sidecar.ts";

export interface TestSidecar {
  readonly running: RunningSidecar;
  readonly lines: string[];
  port(name: string): number;
  /** Parsed access-log lines so far. */
  accessLog(): Promise<Record<string, unknown>[]>;
  /** `/stats/prometheus` text. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestSidecar(args: readonly string[], logDir: string, name: string): Promise<TestSidecar> {
  const accessLogFile = join(logDir, `${name}-access.log`);
  const read = readSettings(sidecarSettings, {
    argv: ["--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0", "--stats-port", "0", "--access-log", accessLogFile, "--drain-seconds", "0.2", ...args],
    env: {},
  });
  if (read.type !== "settings") throw new Error(`bad test settings: ${JSON.stringify(read)}`);
  const lines: string[] = [];
  const hooks: (() => Promise<void> | void)[] = [];
  const running = await startSidecar(read.settings, {
    logger: createLogger({ name: `sidecar-${name}`, level: "debug", write: (line) => void lines.push(line) }),
    setLogLevel: () => true,
    onStop: (_name, hook) => void hooks.push(hook),
  });
  const port = (listener: string): number => {
    const value = running.ports[listener];
    if (value === undefined) throw new Error(`sidecar ${name} has no ${listener} port`);
    return value;
  };
  return {
    running,
    lines,
    port,
    /** The access log's complete lines: one the sidecar is still writing (no newline yet) is not an entry yet. */
    async accessLog() {
      const text = await readFile(accessLogFile, "utf8").catch(() => "");
      return text
        .slice(0, text.lastIndexOf("\n") + 1)
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async metrics() {
      const response = await fetch(`http://127.0.0.1:${port("stats")}/stats/prometheus`);
      return response.text();
    },
    async stop() {
      for (const hook of hooks.reverse()) await hook();
    },
  };
}

/**
 * Writes `dir` as a standalone config of one STRICT mutual-TLS service: ServiceEntry "api"
 * (port 80 http, selecting app=api), its WorkloadEntry on 127.0.0.1:`inboundPort` with service
 * account "api" and the `security.istio.io/tlsMode: istio` label, and a STRICT PeerAuthentication
 * in `peerAuthenticationNamespace` (istio-system: mesh-wide) — `mode` instead of STRICT when given.
 * Returns `dir`.
 */
export async function writeStrictApiConfig(dir: string, inboundPort: number, peerAuthenticationNamespace: string, mode = "STRICT"): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "mesh.yaml"),
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: default }
spec:
  hosts: [api.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  workloadSelector: { labels: { app: api } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: api-1, namespace: default }
spec:
  address: 127.0.0.1
  serviceAccount: api
  labels: { app: api, security.istio.io/tlsMode: istio }
  ports: { http: ${inboundPort} }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: ${peerAuthenticationNamespace} }
spec:
  mtls: { mode: ${mode} }
`,
  );
  return dir;
}
