// Registers the sidecar's workload with its node's registry agent (--registry-agent URL, a Consul
// agent's HTTP API: `meshwork-registry agent --http-port` or Consul itself) once the sidecar is
// ready, keeps it registered (registers again when the agent lost it, e.g. after a restart), and
// deregisters it on stop. The agent runs the check and, through gossip, makes the servers mark the
// instance critical at once if the agent's node dies.
import type { Logger } from "@meshwork/telemetry";
import type { AgentServiceDefinition } from "./workload-registration.ts";
import { RegistrationSettingsError } from "./workload-registration.ts";

export interface AgentRegistrationOptions {
  /** The agent's HTTP address, e.g. http://127.0.0.1:8500. */
  readonly agentUrl: string;
  readonly service: AgentServiceDefinition;
  /** The sidecar serves a config and is not draining. */
  readonly isReady: () => boolean;
  readonly logger: Logger;
  /** How often readiness is looked at before the first registration (250 ms). */
  readonly readyPollMs?: number;
  /** How often the agent is asked whether it still has the service (10 s). */
  readonly verifyIntervalMs?: number;
  readonly fetch?: typeof fetch;
}

export interface AgentRegistration {
  /** True once the agent accepted the registration (and until stop). */
  readonly registered: boolean;
  /** Stops the loop and deregisters the service (bounded by a 3 s request timeout). */
  stop(): Promise<void>;
}

/** Checks --registry-agent: an http(s) URL of the agent, no path. */
export function parseAgentUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RegistrationSettingsError(`--registry-agent "${text}" is not a URL: give the agent's HTTP address, e.g. http://127.0.0.1:8500`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || (url.pathname !== "/" && url.pathname !== "")) {
    throw new RegistrationSettingsError(`--registry-agent "${text}": give the agent's HTTP address without a path, e.g. http://127.0.0.1:8500`);
  }
  return url.origin;
}

export function startAgentRegistration(options: AgentRegistrationOptions): AgentRegistration {
  const agentUrl = parseAgentUrl(options.agentUrl);
  const doFetch = options.fetch ?? fetch;
  const { logger, service } = options;
  const readyPollMs = options.readyPollMs ?? 250;
  const verifyIntervalMs = options.verifyIntervalMs ?? 10_000;
  let registered = false;
  let stopped = false;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();

  const put = async (path: string, body?: unknown): Promise<void> => {
    const response = await doFetch(`${agentUrl}${path}`, {
      method: "PUT",
      signal: AbortSignal.timeout(3_000),
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  };

  const stillRegistered = async (): Promise<boolean> => {
    const response = await doFetch(`${agentUrl}/v1/agent/services`, { signal: AbortSignal.timeout(3_000) });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    return Object.hasOwn((await response.json()) as object, service.ID);
  };

  const step = async (): Promise<number> => {
    if (!options.isReady()) return readyPollMs;
    try {
      if (registered && (await stillRegistered())) return verifyIntervalMs;
      if (registered) logger.warn("the registry agent lost the workload's registration (restarted?); registering again", { agent: agentUrl, serviceId: service.ID });
      await put("/v1/agent/service/register", service);
      if (stopped) return verifyIntervalMs;
      registered = true;
      failures = 0;
      logger.info("registered with the registry agent", { agent: agentUrl, service: service.Name, serviceId: service.ID, port: service.Port });
      return verifyIntervalMs;
    } catch (error) {
      failures++;
      if (failures === 1 || failures % 30 === 0) logger.warn("could not register with the registry agent; retrying", { agent: agentUrl, serviceId: service.ID, failures, err: error });
      return Math.min(1_000 * 2 ** Math.min(failures - 1, 4), verifyIntervalMs);
    }
  };

  const loop = (): void => {
    running = step().then((delayMs) => {
      if (!stopped) {
        timer = setTimeout(loop, delayMs);
        timer.unref();
      }
    });
  };
  loop();

  return {
    get registered() {
      return registered;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await running;
      if (!registered) return;
      registered = false;
      try {
        await put(`/v1/agent/service/deregister/${encodeURIComponent(service.ID)}`);
        logger.info("deregistered from the registry agent", { agent: agentUrl, serviceId: service.ID });
      } catch (error) {
        logger.error("could not deregister from the registry agent; its check will go critical and the agent drops it after DeregisterCriticalServiceAfter", { agent: agentUrl, serviceId: service.ID, err: error });
      }
    },
  };
}
