// A registry agent outside the Raft cluster (Consul's client agent): registers its node's services
// through any server's Consul HTTP API (PUT /v1/catalog/register), runs their checks here with
// the server's CheckRunner and pushes status changes the same way, re-registers everything
// periodically (anti-entropy: a registration the registry lost comes back), and deregisters its
// services on stop. All writes go through one queue, so a re-registration never overwrites a newer
// check status with an older one. Services can also come and go while it runs (`register`,
// `deregister`: the agent's local API, PUT /v1/agent/service/register as a sidecar calls it).
import type { Logger } from "@meshwork/telemetry";
import { CheckRunner, type Probes } from "../agent/check-runner.ts";
import { formatDurationMs } from "../http/consul-duration.ts";
import type { CheckDefinition, HealthStatus, RegistryCommand, RegistryServer } from "../registry-contract.ts";
import type { AgentService } from "./agent-services.ts";
import type { RegistryClient } from "./registry-client.ts";

export interface RegistryAgentOptions {
  /** Catalog node of the services, and its address and meta. */
  readonly node: string;
  readonly address: string;
  readonly nodeMeta: Readonly<Record<string, string>>;
  readonly services: readonly AgentService[];
  readonly client: Pick<RegistryClient, "put">;
  /** Anti-entropy period; a failed registration is retried sooner (every second, at most this). */
  readonly syncIntervalMs: number;
  readonly logger: Logger;
  /** Real network probes by default (tests may fake them). */
  readonly probes?: Probes;
}

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** A check as Consul's catalog register takes it, with the status and output to record. */
export function encodeCatalogCheck(check: CheckDefinition, status: HealthStatus, output: string): Json {
  const definition: Record<string, Json> = {};
  if (check.http !== undefined) definition["HTTP"] = check.http;
  if (check.tcp !== undefined) definition["TCP"] = check.tcp;
  if (check.grpc !== undefined) definition["GRPC"] = check.grpc;
  for (const [field, ms] of [
    ["Interval", check.intervalMs],
    ["Timeout", check.timeoutMs],
    ["TTL", check.ttlMs],
    ["DeregisterCriticalServiceAfter", check.deregisterCriticalAfterMs],
  ] as const) {
    if (ms !== undefined) definition[field] = formatDurationMs(ms);
  }
  return { CheckID: check.checkId, Name: check.name, ServiceID: check.serviceId ?? "", Status: status, Output: output, Definition: definition };
}

export class RegistryAgent {
  private readonly options: RegistryAgentOptions;
  private readonly runner: CheckRunner;
  /** The services registered now, by ID (the flags' and file's first, then the API's). */
  private readonly entries = new Map<string, AgentService>();
  /** What the registry last accepted per check (re-registrations carry it). */
  private readonly statuses = new Map<string, { status: HealthStatus; output: string }>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private checksStarted = false;
  private stopped = false;
  private failures = 0;

  constructor(options: RegistryAgentOptions) {
    this.options = options;
    for (const entry of options.services) this.entries.set(entry.service.id, entry);
    for (const { checks } of options.services) for (const check of checks) this.statuses.set(check.checkId, { status: check.status, output: check.output });
    // The runner only calls `write` (check-update): it reaches the registry as a catalog register.
    const server: Pick<RegistryServer, "write"> = { write: (command) => this.pushCheck(command) };
    this.runner = new CheckRunner({
      server: server as RegistryServer,
      node: options.node,
      ...(options.probes === undefined ? {} : { probes: options.probes }),
      onError: (error, checkId) => options.logger.warn("check status not recorded; retrying on the next run", { checkId, err: error }),
    });
  }

  /** Registers the services (retrying in the background if no server accepts yet), then runs their checks. */
  async start(): Promise<void> {
    await this.syncLoop();
  }

  /** The services registered now. */
  services(): readonly AgentService[] {
    return [...this.entries.values()];
  }

  /** Registers every service with its checks at their current statuses now. */
  sync(): Promise<void> {
    return this.enqueue(async () => {
      for (const entry of this.entries.values()) await this.putService(entry);
    });
  }

  /**
   * Adds a service (or replaces the one with its ID, checks included) and registers it on a server
   * now; its checks start at once. When no server accepts it, it stays here and the next
   * anti-entropy sync registers it (Consul's agent does the same).
   */
  async register(entry: AgentService): Promise<void> {
    if (this.stopped) throw new Error("the agent is stopping");
    const id = entry.service.id;
    const previous = this.entries.get(id);
    for (const check of previous?.checks ?? []) {
      this.runner.remove(check.checkId);
      this.statuses.delete(check.checkId);
    }
    this.entries.set(id, entry);
    for (const check of entry.checks) this.statuses.set(check.checkId, { status: check.status, output: check.output });
    if (this.checksStarted) this.startChecksOf(entry);
    try {
      await this.enqueue(() => this.putService(entry));
      this.options.logger.info("registered service", { node: this.options.node, serviceId: id });
    } catch (error) {
      // As Consul's agent: the local registration holds; anti-entropy pushes it when a server answers.
      this.options.logger.warn("service kept locally; no registry server accepted it yet (the next sync retries)", { node: this.options.node, serviceId: id, err: error });
    }
  }

  /** Removes a service and its checks and deregisters it; false when no service has this ID. */
  async deregister(serviceId: string): Promise<boolean> {
    const entry = this.entries.get(serviceId);
    if (entry === undefined) return false;
    this.entries.delete(serviceId);
    for (const check of entry.checks) {
      this.runner.remove(check.checkId);
      this.statuses.delete(check.checkId);
    }
    const { node, client, logger } = this.options;
    await this.enqueue(() => client.put("/v1/catalog/deregister", { Node: node, ServiceID: serviceId }));
    logger.info("deregistered service", { node, serviceId });
    return true;
  }

  private async putService({ service, checks }: AgentService): Promise<void> {
    const { node, address, nodeMeta, client } = this.options;
    await client.put("/v1/catalog/register", {
      Node: node,
      Address: address,
      NodeMeta: nodeMeta,
      Service: { ID: service.id, Service: service.service, Address: service.address, Port: service.port, Tags: service.tags, Meta: service.meta },
      Checks: checks.map((check) => {
        const current = this.statuses.get(check.checkId) ?? { status: check.status, output: check.output };
        return encodeCatalogCheck(check, current.status, current.output);
      }),
    });
  }

  /** Stops the checks and deregisters the services (the node entry stays: other agents may share it). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.runner.stop();
    await this.queue.catch(() => undefined);
    const { node, client, logger } = this.options;
    // Never registered: nothing to remove (and no dead server to wait for past the stop deadline).
    if (!this.checksStarted) return;
    for (const { service } of this.entries.values()) {
      try {
        await client.put("/v1/catalog/deregister", { Node: node, ServiceID: service.id });
        logger.info("deregistered service", { node, serviceId: service.id });
      } catch (error) {
        logger.error("could not deregister service; it stays until its checks reap it or it is deregistered by hand", { node, serviceId: service.id, err: error });
      }
    }
  }

  private async syncLoop(): Promise<void> {
    if (this.stopped) return;
    const { logger, syncIntervalMs, node } = this.options;
    let delayMs = syncIntervalMs;
    try {
      await this.sync();
      if (this.failures > 0 || !this.checksStarted) logger.info("registered services", { node, services: [...this.entries.keys()] });
      this.failures = 0;
      this.startChecks();
    } catch (error) {
      this.failures++;
      delayMs = Math.min(syncIntervalMs, 1000);
      // Log the first failure and then every 30th, not each retry.
      if (this.failures === 1 || this.failures % 30 === 0) logger.warn("could not register services; retrying", { node, failures: this.failures, err: error });
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.syncLoop(), delayMs);
  }

  private startChecks(): void {
    if (this.checksStarted || this.stopped) return;
    this.checksStarted = true;
    for (const entry of this.entries.values()) this.startChecksOf(entry);
  }

  private startChecksOf({ checks }: AgentService): void {
    for (const check of checks) {
      this.runner.add({ ...check, ...this.statuses.get(check.checkId) });
      // First result now rather than somewhere in the first interval.
      if (check.type !== "ttl") void this.runner.runNow(check.checkId).catch(() => undefined);
    }
  }

  private async pushCheck(command: RegistryCommand): Promise<{ ok: boolean; index: number }> {
    if (command.op !== "check-update") throw new Error(`the agent only writes check updates, not ${command.op}`);
    const check = [...this.entries.values()].flatMap((s) => s.checks).find((c) => c.checkId === command.checkId);
    if (check === undefined) throw new Error(`unknown check "${command.checkId}"`);
    const { node, address, nodeMeta, client, logger } = this.options;
    await this.enqueue(() => client.put("/v1/catalog/register", { Node: node, Address: address, NodeMeta: nodeMeta, Check: encodeCatalogCheck(check, command.status, command.output) }));
    const previous = this.statuses.get(check.checkId)?.status;
    this.statuses.set(check.checkId, { status: command.status, output: command.output });
    if (previous !== command.status) logger.info("check status changed", { checkId: check.checkId, serviceId: check.serviceId, from: previous, to: command.status, output: command.output.slice(0, 200) });
    return { ok: true, index: 0 };
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
