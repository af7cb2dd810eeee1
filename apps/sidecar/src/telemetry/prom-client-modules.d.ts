// Types of the prom-client modules that prom-client-core.ts imports one by one. The package has no
// "exports" map (every file may be imported) but types only its index; these say that each module
// exports the class the index re-exports under the same name.
declare module "prom-client/lib/registry.js" {
  import type { Registry } from "prom-client";
  const registry: typeof Registry;
  export default registry;
}

declare module "prom-client/lib/counter.js" {
  import type { Counter } from "prom-client";
  const counter: typeof Counter;
  export default counter;
}

declare module "prom-client/lib/cluster.js" {
  import type { AggregatorRegistry } from "prom-client";
  const aggregatorRegistry: typeof AggregatorRegistry;
  export default aggregatorRegistry;
}
