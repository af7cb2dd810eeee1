// Public entry of @meshwork/workload-identity: the workload agent a sidecar embeds to keep its SVID
// fresh (DESIGN.md §3.3), its renewal schedule, and the CA client it talks through.
export { createCaClient, createCertificate } from "./ca-client.ts";
export { followTrustBundle } from "./follow-trust-bundle.ts";
export { renewalDelayMs, retryDelayMs } from "./renewal-schedule.ts";
export type { Backoff } from "./renewal-schedule.ts";
export { WorkloadAgent } from "./workload-agent.ts";
export type { AgentTimers, CurrentSvid, SecureContextTarget, WorkloadAgentOptions } from "./workload-agent.ts";
