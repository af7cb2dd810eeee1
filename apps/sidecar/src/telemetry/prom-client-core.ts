// The parts of prom-client the sidecar uses, each from its own module. prom-client's index loads
// all of the package when imported: the default metrics (sixteen collectors, perf_hooks' GC
// observer, @opentelemetry/api), the Pushgateway (https, zlib), Summary (tdigest, bintrees) and
// the cluster aggregator — about 100 KB of code run at start, whose memory an idle sidecar paid
// (bench/proxy/README.md, "Idle memory"). The classes are the same objects the index exports
// (Node loads each file once), so registries and metrics mix with code that imports the index.
// Types stay those of "prom-client". AggregatorRegistry (--concurrency) is imported from its own
// module by start-workers.ts, the one place that uses it.
import type * as PromClient from "prom-client";
import counterClass from "prom-client/lib/counter.js";
import registryClass from "prom-client/lib/registry.js";

export const Registry: typeof PromClient.Registry = registryClass;
export type Registry<T extends PromClient.RegistryContentType = PromClient.PrometheusContentType> = PromClient.Registry<T>;

export const Counter: typeof PromClient.Counter = counterClass;
export type Counter<T extends string = string> = PromClient.Counter<T>;
