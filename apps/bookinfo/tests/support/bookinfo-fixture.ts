// Starts real bookinfo services in-process on port 0 (real sockets, the production handlers) and
// closes everything a test started.
import { createLogger, type Logger } from "@meshwork/telemetry";
import { createUpstreamClient, type UpstreamClient } from "../../src/adapters/upstream-client.ts";
import { planService, type PlanInput, type ServiceName } from "../../src/core/plan-service.ts";
import { startService, type RunningService } from "../../src/start-service.ts";

export interface Fixture {
  /** Starts `service` with `input` over the defaults (port 0, direct URLs only as given). */
  start(service: ServiceName, input?: Partial<PlanInput>): Promise<RunningService>;
  /** JSON log records written so far. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export const DEFAULT_INPUT: PlanInput = {
  version: "v1",
  port: 0,
  bind: "127.0.0.1",
  outboundProxy: undefined,
  outboundStyle: "absolute",
  servicesDomain: undefined,
  detailsUrl: undefined,
  reviewsUrl: undefined,
  ratingsUrl: undefined,
  upstreamTimeoutMs: undefined,
  podName: undefined,
  sessionSecret: "test-secret",
};

export function createFixture(): Fixture {
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = createLogger({ name: "bookinfo", level: "debug", write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>), now: () => new Date("2026-11-22T10:00:00Z") });
  const client: UpstreamClient = createUpstreamClient();
  const running: RunningService[] = [];
  return {
    logs,
    start: async (service, input = {}) => {
      const plan = planService(service, { ...DEFAULT_INPUT, ...input }, "reviews-test-pod");
      if (!plan.ok) throw new Error(plan.message);
      const started = await startService(plan.config, { logger, client, drainMs: 100 });
      running.push(started);
      return started;
    },
    close: async () => {
      for (const service of running.reverse()) await service.close();
      client.close();
    },
  };
}

/** GET (or POST) with node's fetch, no redirects followed; returns status, headers and text. */
export async function request(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { redirect: "manual", ...init });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
