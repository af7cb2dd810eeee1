// The DNS settings shared by the registry server and `meshwork-registry agent` (Consul's servers
// and client agents take the same ports.dns and domain): one flag name, one environment variable.
import type { SettingsSpec } from "@meshwork/runtime";

/** Spread into a process's defineSettings({...}); the agent overrides dnsPort's default (off) and description. */
export const dnsSettingDefinitions = {
  dnsPort: { type: "number", integer: true, default: 8600, env: "MESHWORK_REGISTRY_DNS_PORT", description: "Consul DNS interface (UDP and TCP) on --bind; 0 picks one, -1 disables." },
  dnsDomain: { type: "string", default: "consul", env: "MESHWORK_REGISTRY_DNS_DOMAIN", valueName: "DOMAIN", description: "Domain the DNS interface answers for (<service>.service.<domain>)." },
} as const satisfies SettingsSpec;
