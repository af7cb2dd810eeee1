// A control plane's config for in-process tests: the flags' defaults read as main reads them, both
// listeners on port 0, a 10 ms push debounce and no connection-age limit; the test's own on top.
import { readSettings } from "@meshwork/runtime";
import { controlPlaneSettings } from "../../src/control-plane-settings.ts";
import type { ControlPlaneConfig } from "../../src/start-control-plane.ts";

export function testControlPlaneConfig(overrides: Partial<ControlPlaneConfig> & { readonly id: string }): ControlPlaneConfig {
  const read = readSettings(controlPlaneSettings, {
    argv: ["--grpc-port", "0", "--admin-port", "0", "--debounce-ms", "10", "--debounce-max-ms", "1000", "--max-connection-age-ms", "0"],
    env: {},
  });
  if (read.type !== "settings") throw new Error(`bad test settings: ${JSON.stringify(read)}`);
  const settings = read.settings;
  return { ...settings, registryGrpc: settings.registryGrpc, registryHttp: settings.registryHttp, configDir: settings.configDir, trustBundle: settings.trustBundle, ...overrides };
}
