// The service instance a sidecar registers with its node's registry agent (--registry-agent), in
// the JSON of Consul's PUT /v1/agent/service/register: the workload's inbound listener, named
// after its app label, with its labels and namespace as meta, its version as tag, and an HTTP
// check on the sidecar's own readiness (/healthz/ready on the stats port). Pure.

/** Consul's agent service definition (the fields a sidecar sets). */
export interface AgentServiceDefinition {
  readonly Name: string;
  readonly ID: string;
  /** "" when the sidecar binds every address: Consul then gives the node's address. */
  readonly Address: string;
  readonly Port: number;
  readonly Tags: readonly string[];
  readonly Meta: Readonly<Record<string, string>>;
  readonly Check: {
    readonly Name: string;
    readonly HTTP: string;
    readonly Interval: string;
    readonly Timeout: string;
    readonly DeregisterCriticalServiceAfter: string;
  };
}

export interface WorkloadRegistrationInput {
  readonly workloadName: string | undefined;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The address the sidecar's listeners bind (--bind). */
  readonly bind: string;
  /** Bound ports; -1 or missing when disabled. */
  readonly inboundPort: number | undefined;
  readonly statsPort: number | undefined;
}

/** The check's timings: Consul's usual 10 s interval; a sidecar critical for a minute is dropped. */
export const registrationCheckTimings = { Interval: "10s", Timeout: "2s", DeregisterCriticalServiceAfter: "1m" } as const;

/** Bad settings for --registry-agent (names the flag and the fix). */
export class RegistrationSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistrationSettingsError";
  }
}

const unspecified = new Set(["0.0.0.0", "::", "[::]", ""]);

/** Builds the registration; throws RegistrationSettingsError when the sidecar lacks what it needs. */
export function workloadRegistration(input: WorkloadRegistrationInput): AgentServiceDefinition {
  const name = input.labels["app"] ?? input.workloadName;
  if (name === undefined || name === "") {
    throw new RegistrationSettingsError("--registry-agent needs a service name: set --labels app=NAME (or --workload-name)");
  }
  if (input.inboundPort === undefined || input.inboundPort < 0) {
    throw new RegistrationSettingsError("--registry-agent registers the inbound listener: set --inbound-port (not -1)");
  }
  if (input.statsPort === undefined || input.statsPort < 0) {
    throw new RegistrationSettingsError("--registry-agent checks the sidecar's /healthz/ready on the stats port: set --stats-port (not -1)");
  }
  const everywhere = unspecified.has(input.bind);
  const checkHost = everywhere ? "127.0.0.1" : input.bind.includes(":") && !input.bind.startsWith("[") ? `[${input.bind}]` : input.bind;
  const version = input.labels["version"];
  return {
    Name: name,
    ID: input.workloadName ?? `${name}.${input.namespace}`,
    Address: everywhere ? "" : input.bind,
    Port: input.inboundPort,
    Tags: version === undefined ? [] : [version],
    Meta: { ...input.labels, namespace: input.namespace },
    Check: { Name: "sidecar ready", HTTP: `http://${checkHost}:${input.statsPort}/healthz/ready`, ...registrationCheckTimings },
  };
}
