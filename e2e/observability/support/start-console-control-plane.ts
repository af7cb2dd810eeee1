// The real control plane (apps/control-plane/src/main.ts) with its console scraping the given
// proxies, and Istio config for the service pages in its config directory.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChild, type Child } from "./processes.ts";

export const reviewsConfig = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: 34
    - destination: { host: reviews, subset: v2 }
      weight: 33
    - destination: { host: reviews, subset: v3 }
      weight: 33
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
  - { name: v3, labels: { version: v3 } }
`;

export interface ConsoleControlPlane {
  readonly child: Child;
  /** http://127.0.0.1:ADMIN */
  readonly admin: string;
  /** 127.0.0.1:GRPC, the discovery service (--discovery-address of managed sidecars). */
  readonly discoveryAddress: string;
  /** Its --config-dir (Istio config files are read from it as they change). */
  readonly configDir: string;
  stop(): Promise<void>;
}

export async function startConsoleControlPlane(options: { readonly scrape: readonly string[]; readonly prometheusUrl?: string; readonly config?: string; readonly token?: string; readonly registryHttp?: string; readonly args?: readonly string[] }): Promise<ConsoleControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), "console-cp-"));
  await writeFile(join(dir, "config.yaml"), options.config ?? reviewsConfig);
  const child = startChild("control plane", "apps/control-plane/src/main.ts", [
    "--id", "cp-observability", "--grpc-port", "0", "--admin-port", "0", "--config-dir", dir, "--max-connection-age-ms", "0",
    ...(options.scrape.length > 0 ? ["--console-scrape", options.scrape.join(",")] : []),
    ...(options.prometheusUrl !== undefined ? ["--prometheus-url", options.prometheusUrl] : []),
    ...(options.token !== undefined ? ["--console-token", options.token] : []),
    ...(options.registryHttp !== undefined ? ["--registry-http", options.registryHttp] : []),
    ...(options.args ?? []),
  ]);
  const listening = await child.waitForLine("listening", 120_000);
  return {
    child,
    admin: `http://127.0.0.1:${String(listening["adminPort"])}`,
    discoveryAddress: `127.0.0.1:${String(listening["grpcPort"])}`,
    configDir: dir,
    stop: async () => {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
