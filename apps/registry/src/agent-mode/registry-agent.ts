// A registry agent outside the Raft cluster (Consul's client agent): registers its node's services
// through any server's Consul HTTP API (PUT /v1/catalog/register), runs their checks here with
// the server's CheckRunner and pushes status changes the same way, re-registers everything
// periodically (anti-entropy: a registration the registry lost comes back), and deregisters its
// services on stop. All writes go through one queue, so a re-registration never overwrites a newer
// check status with an older one. Services and checks can also come and go while it runs
// (`register`, `deregister`, `registerCheck`, `deregisterCheck`, `setMaintenance`: the agent's local
// API, PUT /v1/agent/service/register as a sidecar calls it), and TTL checks take their status from
// the workload (`updateTtl`: PUT /v1/agent/check/pass/<id>...), pushed to the servers at once.
import type { Logger } from "@meshwork/telemetry";
import { CheckRunner, NotTtlCheckError, type Probes, UnknownCheckError } from "../agent/check-runner.ts";
import { truncateOutput } from "../agent/probe-result.ts";
import { formatDurationMs } from "../http/consul-duration.ts";
import { maintenanceCheck, maintenanceCheckId } from "../http/maintenance-check.ts";
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

/** One check of this agent with its current status, and the service it belongs to (none: a node check). */
export interface AgentCheck {
  readonly check: CheckDefinition;
  readonly service: AgentService["service"] | undefined;
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
  /**
   * Checks registered on their own (PUT /v1/agent/check/register, maintenance): node checks and
   * further checks of a service, by check ID.
   */
  private readonly extraChecks = new Map<string, CheckDefinition>();
  /** Each check's current status here (re-registrations carry it; a failed push is retried by them). */
  private readonly statuses = new Map<string, { status: HealthStatus; output: string }>();
  /** Called after each change of `entries` (blocking reads of GET /v1/agent/service/<id>?hash=). */
  private readonly serviceListeners = new Set<() => void>();
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

  /**
   * Calls `listener` after every local change of the services (register, deregister), before the
   * servers hear of it; returns the function that stops the calls.
   */
  onServicesChanged(listener: () => void): () => void {
    this.serviceListeners.add(listener);
    return () => void this.serviceListeners.delete(listener);
  }

  private notifyServicesChanged(): void {
    for (const listener of [...this.serviceListeners]) listener();
  }

  /** Every check of this agent (the services' first, then those registered on their own) at its current status. */
  checks(): AgentCheck[] {
    const out: AgentCheck[] = [];
    const withStatus = (check: CheckDefinition): CheckDefinition => ({ ...check, ...this.statuses.get(check.checkId) });
    for (const { service, checks } of this.entries.values()) for (const check of checks) out.push({ check: withStatus(check), service });
    for (const check of this.extraChecks.values()) out.push({ check: withStatus(check), service: check.serviceId === undefined ? undefined : this.entries.get(check.serviceId)?.service });
    return out;
  }

  /** Registers every service with its checks, and the node's own checks, at their current statuses now. */
  sync(): Promise<void> {
    return this.enqueue(async () => {
      for (const entry of this.entries.values()) await this.putService(entry);
      const nodeChecks = [...this.extraChecks.values()].filter((check) => check.serviceId === undefined);
      if (nodeChecks.length > 0) await this.putChecks(nodeChecks);
    });
  }

  /**
   * Adds a check (replacing one with its ID) and registers it on a server now; it starts running
   * at once. A `serviceId` must be a service of this agent (the caller checks: `hasService`). Kept
   * here when no server accepts it (the next sync pushes it), as `register` does.
   */
  async registerCheck(check: CheckDefinition): Promise<void> {
    if (this.stopped) throw new Error("the agent is stopping");
    this.dropCheck(check.checkId);
    this.extraChecks.set(check.checkId, check);
    this.statuses.set(check.checkId, { status: check.status, output: check.output });
    if (this.checksStarted) this.startCheck(check);
    try {
      await this.enqueue(() => this.putChecks([check]));
    } catch (error) {
      this.options.logger.warn("check kept locally; no registry server accepted it yet (the next sync retries)", { node: this.options.node, checkId: check.checkId, err: error });
    }
  }

  /** Removes a check (a service's or one registered on its own) and deregisters it; false when no check has this ID. */
  async deregisterCheck(checkId: string): Promise<boolean> {
    if (!this.dropCheck(checkId)) return false;
    const { node, client } = this.options;
    await this.enqueue(() => client.put("/v1/catalog/deregister", { Node: node, CheckID: checkId }));
    return true;
  }

  hasService(serviceId: string): boolean {
    return this.entries.has(serviceId);
  }

  /**
   * A TTL check's new status from the workload (pass/warn/fail/update): recorded here, its TTL
   * restarted, and pushed to a server at once. When no server takes it, the status still holds here
   * and the next sync carries it (Consul's agent answers 200 and syncs later too). Throws
   * UnknownCheckError / NotTtlCheckError.
   */
  async updateTtl(checkId: string, status: HealthStatus, output: string): Promise<void> {
    const check = this.findCheck(checkId);
    if (check === undefined) throw new UnknownCheckError(checkId);
    if (check.type !== "ttl") throw new NotTtlCheckError(checkId);
    const text = truncateOutput(output);
    if (!this.runner.has(checkId)) {
      // Not running yet (no server accepted the first registration): the first sync carries it.
      this.statuses.set(checkId, { status, output: text });
      return;
    }
    try {
      await this.runner.updateTtl(checkId, status, text);
    } catch (error) {
      this.options.logger.warn("TTL status kept locally; no registry server accepted it yet (the next sync retries)", { checkId, err: error });
    }
  }

  /**
   * Consul's maintenance mode: `reason` set puts the node (serviceId undefined) or one service in
   * maintenance — a critical check `_node_maintenance` / `_service_maintenance:<id>` that takes the
   * instances out of healthy answers; undefined takes it out again. False for an unknown service.
   */
  async setMaintenance(serviceId: string | undefined, reason: string | undefined): Promise<boolean> {
    if (serviceId !== undefined && !this.entries.has(serviceId)) return false;
    const checkId = maintenanceCheckId(serviceId);
    if (reason === undefined) {
      this.dropCheck(checkId);
      // Also when this agent had none: a maintenance check of an earlier run of this node may still be in the catalog.
      const { node, client } = this.options;
      await this.enqueue(() => client.put("/v1/catalog/deregister", { Node: node, CheckID: checkId }));
      return true;
    }
    // The servers' own maintenance check, so either way looks the same in the catalog.
    await this.registerCheck(maintenanceCheck(serviceId, reason));
    return true;
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
    this.notifyServicesChanged();
    for (const check of entry.checks) {
      // A check of this ID registered on its own is replaced by the service's.
      this.extraChecks.delete(check.checkId);
      this.statuses.set(check.checkId, { status: check.status, output: check.output });
    }
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
    this.notifyServicesChanged();
    // The service's checks go with it, also those registered on their own (Consul does the same).
    const attached = [...this.extraChecks.values()].filter((check) => check.serviceId === serviceId);
    for (const check of [...entry.checks, ...attached]) {
      this.runner.remove(check.checkId);
      this.statuses.delete(check.checkId);
      this.extraChecks.delete(check.checkId);
    }
    const { node, client, logger } = this.options;
    await this.enqueue(() => client.put("/v1/catalog/deregister", { Node: node, ServiceID: serviceId }));
    logger.info("deregistered service", { node, serviceId });
    return true;
  }

  private async putService({ service, checks }: AgentService): Promise<void> {
    const { node, address, nodeMeta, client } = this.options;
    const attached = [...this.extraChecks.values()].filter((check) => check.serviceId === service.id);
    await client.put("/v1/catalog/register", {
      Node: node,
      Address: address,
      NodeMeta: nodeMeta,
      Service: { ID: service.id, Service: service.service, Address: service.address, Port: service.port, Tags: service.tags, Meta: service.meta },
      Checks: [...checks, ...attached].map((check) => this.encodeCurrent(check)),
    });
  }

  /** Registers checks without a service (node checks, or further checks of a registered service). */
  private async putChecks(checks: readonly CheckDefinition[]): Promise<void> {
    const { node, address, nodeMeta, client } = this.options;
    await client.put("/v1/catalog/register", { Node: node, Address: address, NodeMeta: nodeMeta, Checks: checks.map((check) => this.encodeCurrent(check)) });
  }

  private encodeCurrent(check: CheckDefinition): Json {
    const current = this.statuses.get(check.checkId) ?? { status: check.status, output: check.output };
    return encodeCatalogCheck(check, current.status, current.output);
  }

  private findCheck(checkId: string): CheckDefinition | undefined {
    const extra = this.extraChecks.get(checkId);
    if (extra !== undefined) return extra;
    for (const { checks } of this.entries.values()) for (const check of checks) if (check.checkId === checkId) return check;
    return undefined;
  }

  /** Forgets a check here (stops it); false when this agent has none of this ID. */
  private dropCheck(checkId: string): boolean {
    this.runner.remove(checkId);
    this.statuses.delete(checkId);
    if (this.extraChecks.delete(checkId)) return true;
    for (const entry of this.entries.values()) {
      if (!entry.checks.some((check) => check.checkId === checkId)) continue;
      this.entries.set(entry.service.id, { service: entry.service, checks: entry.checks.filter((check) => check.checkId !== checkId) });
      return true;
    }
    return false;
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
    for (const check of this.extraChecks.values()) {
      if (check.serviceId !== undefined) continue;
      try {
        await client.put("/v1/catalog/deregister", { Node: node, CheckID: check.checkId });
      } catch (error) {
        logger.error("could not deregister node check; it stays until it is deregistered by hand", { node, checkId: check.checkId, err: error });
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
    for (const check of this.extraChecks.values()) this.startCheck(check);
  }

  private startChecksOf({ checks }: AgentService): void {
    for (const check of checks) this.startCheck(check);
  }

  private startCheck(check: CheckDefinition): void {
    // Maintenance checks (type serf) run nowhere: they are critical until taken out.
    if (check.type === "serf") return;
    this.runner.add({ ...check, ...this.statuses.get(check.checkId) });
    // First result now rather than somewhere in the first interval.
    if (check.type !== "ttl") void this.runner.runNow(check.checkId).catch(() => undefined);
  }

  private async pushCheck(command: RegistryCommand): Promise<{ ok: boolean; index: number }> {
    if (command.op !== "check-update") throw new Error(`the agent only writes check updates, not ${command.op}`);
    const check = this.findCheck(command.checkId);
    if (check === undefined) throw new Error(`unknown check "${command.checkId}"`);
    const { node, address, nodeMeta, client, logger } = this.options;
    const previous = this.statuses.get(check.checkId)?.status;
    // The status holds here before the push: if no server takes it, the next sync carries it.
    this.statuses.set(check.checkId, { status: command.status, output: command.output });
    await this.enqueue(() => client.put("/v1/catalog/register", { Node: node, Address: address, NodeMeta: nodeMeta, Check: encodeCatalogCheck(check, command.status, command.output) }));
    if (previous !== command.status) logger.info("check status changed", { checkId: check.checkId, serviceId: check.serviceId, from: previous, to: command.status, output: command.output.slice(0, 200) });
    return { ok: true, index: 0 };
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
