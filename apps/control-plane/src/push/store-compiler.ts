// The push server's `compute`: compiles proxies against a ConfigStore's current snapshot and
// catalog, one ProxyCompiler per (snapshot, catalog) pair, each handed the previous one so what a
// change cannot touch is reused (libs/proxy-core ProxyCompiler).
import { ProxyCompiler, type ComputedProxyConfig, type ConfigSnapshot, type MeshCatalog, type ProxyNode } from "@meshwork/proxy-core";

export interface CompilerInputs {
  readonly snapshot: ConfigSnapshot;
  readonly catalog: MeshCatalog;
}

export function storeCompiler(store: CompilerInputs): (proxy: ProxyNode) => ComputedProxyConfig {
  let current: { snapshot: ConfigSnapshot; catalog: MeshCatalog; compiler: ProxyCompiler } | undefined;
  return (proxy) => {
    if (current === undefined || current.snapshot !== store.snapshot || current.catalog !== store.catalog) {
      current = { snapshot: store.snapshot, catalog: store.catalog, compiler: new ProxyCompiler(store.snapshot, store.catalog, current?.compiler) };
    }
    return current.compiler.compile(proxy);
  };
}
