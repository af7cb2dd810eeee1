// The services an agent registers, read from a Consul service-definition file or from
// --service NAME:PORT and --check URL flags. Pure: the caller reads the file.
import { HttpError } from "../http/http-error.ts";
import { parseAgentService } from "../http/consul-decode.ts";
import { parseDurationMs } from "../http/consul-duration.ts";
import type { CheckDefinition, ServiceDefinition } from "../registry-contract.ts";

/** One service with its checks, as the agent registers it. */
export interface AgentService {
  readonly service: ServiceDefinition;
  readonly checks: readonly CheckDefinition[];
}

/** Bad agent settings or service definitions (the process exits 2 with the message). */
export class AgentSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentSettingsError";
  }
}

/** A Go duration flag in ms; AgentSettingsError names the flag. */
export function durationSetting(text: string, flag: string): number {
  try {
    return parseDurationMs(text, flag);
  } catch {
    throw new AgentSettingsError(`invalid ${flag} "${text}": use a Go duration such as "10s", "1m30s" or "500ms"`);
  }
}

/**
 * Parses a service file: `{"service": {...}}`, `{"services": [...]}` (Consul's agent config
 * shapes), one definition, or an array of them; each as PUT /v1/agent/service/register takes it.
 */
export function servicesFromFile(text: string, file: string): AgentService[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AgentSettingsError(`--service-file ${file} is not JSON (${error instanceof Error ? error.message : String(error)}): write Consul service definitions, e.g. {"service": {"Name": "web", "Port": 8080}}`);
  }
  const record = typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  const key = record === undefined ? undefined : Object.keys(record).find((k) => k.toLowerCase() === "service" || k.toLowerCase() === "services");
  const definitions: unknown[] = Array.isArray(json) ? json : key === undefined ? [json] : ([] as unknown[]).concat(record?.[key]);
  if (definitions.length === 0) throw new AgentSettingsError(`--service-file ${file} defines no service: add {"service": {"Name": ..., "Port": ...}}`);
  const services = definitions.map((definition, i) => {
    try {
      return parseAgentService(definition);
    } catch (error) {
      if (error instanceof HttpError) throw new AgentSettingsError(`--service-file ${file}, service ${i + 1}: ${error.message}`);
      throw error;
    }
  });
  checkUnique(services, `--service-file ${file}`);
  return services;
}

/** A check from a --check URL: http(s)://, tcp://HOST:PORT or grpc://HOST:PORT[/SERVICE]. */
export function checkFromUrl(text: string, options: { readonly checkId: string; readonly serviceId: string; readonly name: string; readonly intervalMs: number; readonly timeoutMs?: number | undefined }): CheckDefinition {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AgentSettingsError(`invalid --check "${text}": use http://HOST:PORT/PATH, tcp://HOST:PORT or grpc://HOST:PORT[/SERVICE]`);
  }
  const base = {
    checkId: options.checkId,
    name: options.name,
    serviceId: options.serviceId,
    status: "critical" as const,
    output: "",
    intervalMs: options.intervalMs,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
  if (url.protocol === "http:" || url.protocol === "https:") return { ...base, type: "http", http: url.href };
  if (url.port === "") throw new AgentSettingsError(`--check "${text}" needs a port: ${url.protocol}//HOST:PORT`);
  if (url.protocol === "tcp:") return { ...base, type: "tcp", tcp: url.host };
  if (url.protocol === "grpc:") {
    const service = url.pathname.replace(/^\/+/, "");
    return { ...base, type: "grpc", grpc: service === "" ? url.host : `${url.host}/${service}` };
  }
  throw new AgentSettingsError(`--check "${text}" has scheme ${url.protocol}: use http(s)://, tcp:// or grpc://`);
}

/** Services from --service NAME:PORT flags; --check URLs belong to the only --service. */
export function servicesFromFlags(flags: readonly string[], checks: readonly string[], intervalMs: number, timeoutMs: number | undefined): AgentService[] {
  if (checks.length > 0 && flags.length !== 1) {
    throw new AgentSettingsError(`--check needs exactly one --service to attach to (got ${flags.length}); for several services with checks use --service-file`);
  }
  const services = flags.map((flag): AgentService => {
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]*):(\d{1,5})$/.exec(flag);
    const port = Number(match?.[2]);
    if (match === null || !(port >= 1 && port <= 65535)) throw new AgentSettingsError(`invalid --service "${flag}": use NAME:PORT, e.g. web:8080 (port 1-65535)`);
    const name = match[1] ?? "";
    const service: ServiceDefinition = { id: name, service: name, address: "", port, tags: [], meta: {} };
    const definitions = checks.map((url, i) =>
      checkFromUrl(url, { checkId: checks.length === 1 ? `service:${name}` : `service:${name}:${i + 1}`, serviceId: name, name: `Service '${name}' check`, intervalMs, timeoutMs }),
    );
    return { service, checks: definitions };
  });
  checkUnique(services, "--service");
  return services;
}

function checkUnique(services: readonly AgentService[], where: string): void {
  const ids = new Set<string>();
  const checkIds = new Set<string>();
  for (const { service, checks } of services) {
    if (ids.has(service.id)) throw new AgentSettingsError(`${where}: service ID "${service.id}" appears twice; give each service its own ID`);
    ids.add(service.id);
    for (const check of checks) {
      if (checkIds.has(check.checkId)) throw new AgentSettingsError(`${where}: check ID "${check.checkId}" appears twice; give each check its own CheckID`);
      checkIds.add(check.checkId);
    }
  }
}
