// Public entry of @meshwork/control-plane: the server (startControlPlane) and the pieces tests and
// tools reuse. The proxy side of the discovery protocol (DiscoveryClient) is in @meshwork/protocol.
export { startControlPlane, ControlPlaneSettingsError } from "./start-control-plane.ts";
export type { ControlPlaneConfig, ControlPlaneDeps, RunningControlPlane } from "./start-control-plane.ts";
export { DiscoveryServer, parseNode } from "./push/discovery-server.ts";
export type { DiscoveryServerOptions } from "./push/discovery-server.ts";
export type { ProxyStatus, SyncState, TypeStatus } from "./push/proxy-status.ts";
export { Debouncer, defaultDebounce } from "./push/debouncer.ts";
export type { DebounceOptions, DebounceTimers } from "./push/debouncer.ts";
export { configKey, configPrefix, parseConfigKey } from "./core/config-key.ts";
export type { ConfigId } from "./core/config-key.ts";
export { describeProxyResources } from "./core/describe-proxy-resources.ts";
