// The local agent's check runner (Consul agent semantics): runs the node's HTTP, TCP and gRPC checks
// on their intervals with timeouts, keeps TTL checks' deadlines, and writes a `check-update` through
// the server only when a check's status or output changed.
import type { CheckDefinition, HealthStatus, RegistryReads, RegistryServer } from "../registry-contract.ts";
import { probeGrpc } from "./probe-grpc.ts";
import { probeHttp } from "./probe-http.ts";
import type { ProbeResult } from "./probe-result.ts";
import { probeTcp } from "./probe-tcp.ts";

export interface Probes {
  http(url: string, timeoutMs: number): Promise<ProbeResult>;
  tcp(address: string, timeoutMs: number): Promise<ProbeResult>;
  grpc(target: string, timeoutMs: number): Promise<ProbeResult>;
}

export interface CheckRunnerOptions {
  readonly server: RegistryServer;
  /** The node the checks belong to (the agent's node name). */
  readonly node: string;
  /** Real network probes by default. */
  readonly probes?: Probes;
  /** Spreads first runs over the interval as Consul does; `() => 0` runs them at once. */
  readonly random?: () => number;
  /** Called when a status write fails (no leader...); the next run retries. */
  readonly onError?: (error: unknown, checkId: string) => void;
}

/** Consul's default check timeout (agent/checks: 10s), never more than the interval. */
export const defaultCheckTimeoutMs = 10_000;

export class UnknownCheckError extends Error {
  constructor(checkId: string) {
    super(`Unknown check ID "${checkId}": register it first with /v1/agent/check/register`);
    this.name = "UnknownCheckError";
  }
}

export class NotTtlCheckError extends Error {
  constructor(checkId: string) {
    super(`CheckID "${checkId}" does not have associated TTL: only TTL checks take pass/warn/fail/update`);
    this.name = "NotTtlCheckError";
  }
}

interface RunningCheck {
  readonly definition: CheckDefinition;
  timer: ReturnType<typeof setTimeout> | undefined;
  stopped: boolean;
  /** What the registry last accepted for this check. */
  reported: { status: HealthStatus; output: string };
  /** Writes of this check, in order. */
  writes: Promise<void>;
}

const realProbes: Probes = { http: probeHttp, tcp: probeTcp, grpc: probeGrpc };

export class CheckRunner {
  readonly node: string;
  private readonly server: RegistryServer;
  private readonly probes: Probes;
  private readonly random: () => number;
  private readonly onError: (error: unknown, checkId: string) => void;
  private readonly checks = new Map<string, RunningCheck>();

  constructor(options: CheckRunnerOptions) {
    this.server = options.server;
    this.node = options.node;
    this.probes = options.probes ?? realProbes;
    this.random = options.random ?? Math.random;
    this.onError = options.onError ?? (() => undefined);
  }

  /** Starts running `check` (replacing a check of the same id). Its registered status is taken as reported. */
  add(check: CheckDefinition): void {
    this.remove(check.checkId);
    const running: RunningCheck = { definition: check, timer: undefined, stopped: false, reported: { status: check.status, output: check.output }, writes: Promise.resolve() };
    this.checks.set(check.checkId, running);
    if (check.type === "ttl") {
      this.armTtl(running);
    } else if (check.type !== "serf" && check.intervalMs !== undefined && check.intervalMs > 0) {
      running.timer = setTimeout(() => void this.runOnce(running), Math.floor(this.random() * check.intervalMs));
    }
  }

  has(checkId: string): boolean {
    return this.checks.has(checkId);
  }

  definition(checkId: string): CheckDefinition | undefined {
    return this.checks.get(checkId)?.definition;
  }

  /**
   * Starts the checks of this node that the catalog has and that are not running yet (after a
   * restart the definitions come back through Raft, the runner's timers do not). TTL checks get a
   * fresh TTL. Returns the ids it started.
   */
  adopt(state: RegistryReads): string[] {
    const started: string[] = [];
    for (const check of state.nodeChecks?.(this.node) ?? []) {
      if (check.type === "serf" || this.checks.has(check.checkId)) continue;
      const { node: _node, createIndex: _createIndex, modifyIndex: _modifyIndex, ...definition } = check;
      this.add(definition);
      started.push(check.checkId);
    }
    return started;
  }

  /**
   * Makes the running checks those the catalog has for this node, after the state was replaced as a
   * whole (a restore): checks it no longer has stop; new ones and ones whose definition changed
   * start as `adopt` starts them; unchanged ones keep running, taking the catalog's status and
   * output as what was last reported (so a probe result that differs from the restored one is
   * written). Returns the ids started and stopped.
   */
  sync(state: RegistryReads): { readonly started: string[]; readonly stopped: string[] } {
    const wanted = new Map<string, CheckDefinition>();
    for (const check of state.nodeChecks?.(this.node) ?? []) {
      if (check.type === "serf") continue;
      const { node: _node, createIndex: _createIndex, modifyIndex: _modifyIndex, ...definition } = check;
      wanted.set(check.checkId, definition);
    }
    const stopped: string[] = [];
    for (const [checkId, running] of [...this.checks]) {
      const definition = wanted.get(checkId);
      if (definition !== undefined && sameProbe(running.definition, definition)) {
        running.reported = { status: definition.status, output: definition.output };
        wanted.delete(checkId);
        continue;
      }
      this.remove(checkId);
      if (definition === undefined) stopped.push(checkId);
    }
    for (const definition of wanted.values()) this.add(definition);
    return { started: [...wanted.keys()], stopped };
  }

  /** Stops running a check (its catalog entry is the caller's to remove). */
  remove(checkId: string): void {
    const running = this.checks.get(checkId);
    if (running === undefined) return;
    running.stopped = true;
    clearTimeout(running.timer);
    this.checks.delete(checkId);
  }

  /** Stops all checks. */
  stop(): void {
    for (const checkId of [...this.checks.keys()]) this.remove(checkId);
  }

  /**
   * A TTL check's pass/warn/fail/update: records the status and restarts its TTL. Resolves once the
   * registry has it; rejects with UnknownCheckError / NotTtlCheckError, or the server's write error.
   */
  async updateTtl(checkId: string, status: HealthStatus, output: string): Promise<void> {
    const running = this.checks.get(checkId);
    if (running === undefined) throw new UnknownCheckError(checkId);
    if (running.definition.type !== "ttl") throw new NotTtlCheckError(checkId);
    this.armTtl(running);
    await this.report(running, { status, output }, true);
  }

  /** Runs one check now (the interval loop's step; exposed for tests and for an immediate re-check). */
  async runOnce(running: RunningCheck): Promise<void> {
    const check = running.definition;
    const interval = check.intervalMs ?? 0;
    const timeoutMs = check.timeoutMs ?? Math.min(defaultCheckTimeoutMs, interval > 0 ? interval : defaultCheckTimeoutMs);
    const result = await this.probe(check, timeoutMs);
    if (running.stopped) return;
    await this.report(running, result, false);
    if (!running.stopped && interval > 0) running.timer = setTimeout(() => void this.runOnce(running), interval);
  }

  /** Runs the check `checkId` once now. */
  async runNow(checkId: string): Promise<void> {
    const running = this.checks.get(checkId);
    if (running === undefined) throw new UnknownCheckError(checkId);
    clearTimeout(running.timer);
    await this.runOnce(running);
  }

  private probe(check: CheckDefinition, timeoutMs: number): Promise<ProbeResult> {
    switch (check.type) {
      case "http":
        return this.probes.http(check.http ?? "", timeoutMs);
      case "tcp":
        return this.probes.tcp(check.tcp ?? "", timeoutMs);
      case "grpc":
        return this.probes.grpc(check.grpc ?? "", timeoutMs);
      default:
        return Promise.resolve(unchanged(check));
    }
  }

  private armTtl(running: RunningCheck): void {
    clearTimeout(running.timer);
    const ttlMs = running.definition.ttlMs ?? 0;
    if (ttlMs <= 0) return;
    running.timer = setTimeout(() => {
      if (running.stopped) return;
      const last = running.reported.output;
      const output = last === "" ? "TTL expired" : `TTL expired (last output before timeout follows): ${last}`;
      void this.report(running, { status: "critical", output }, false);
    }, ttlMs);
  }

  /** Writes the result when it differs from what the registry has; writes of one check stay in order. */
  private report(running: RunningCheck, result: ProbeResult, rethrow: boolean): Promise<void> {
    const write = running.writes.then(async () => {
      if (running.stopped) return;
      if (running.reported.status === result.status && running.reported.output === result.output) return;
      const written = await this.server.write({ op: "check-update", node: this.node, checkId: running.definition.checkId, status: result.status, output: result.output });
      if (!written.ok) throw new Error(written.errors?.[0]?.what ?? `check-update of "${running.definition.checkId}" refused`);
      running.reported = { status: result.status, output: result.output };
    });
    running.writes = write.catch((error: unknown) => this.onError(error, running.definition.checkId));
    return rethrow ? write : running.writes;
  }
}

/** Whether two definitions run the same probe on the same schedule (status and output aside). */
function sameProbe(a: CheckDefinition, b: CheckDefinition): boolean {
  const probe = (c: CheckDefinition): string => JSON.stringify([c.name, c.serviceId, c.type, c.http, c.tcp, c.grpc, c.intervalMs, c.timeoutMs, c.ttlMs, c.deregisterCriticalAfterMs]);
  return probe(a) === probe(b);
}

function unchanged(check: CheckDefinition): ProbeResult {
  return { status: check.status, output: check.output };
}
