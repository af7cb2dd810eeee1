// Starts what `bookinfo <service>` names: one service, or with `all` the four of them wired to
// each other directly (ratings, reviews, details, then productpage, each told the others' URLs),
// registering a stop hook for each as it starts.
import type { StopHook } from "@meshwork/runtime";
import { planService, type PlanInput, type ServiceName } from "./core/plan-service.ts";
import { startService, type RunningService, type StartDeps } from "./start-service.ts";

export interface BookinfoDeps extends StartDeps {
  /** reviews' pod name when --pod-name is not set. */
  readonly defaultPodName: string;
  /** Registers a hook to run on stop (runUntilStopped's lifecycle.onStop). */
  readonly onStop: (name: string, hook: StopHook) => void;
}

export type StartResult = { readonly ok: true; readonly services: readonly RunningService[] } | { readonly ok: false; readonly message: string };

/** Port offsets from --port in `all` mode. */
const ALL_PORT_OFFSETS: Readonly<Record<ServiceName, number>> = { productpage: 0, details: 1, reviews: 2, ratings: 3 };

export async function startBookinfo(services: "all" | ServiceName, input: PlanInput, deps: BookinfoDeps): Promise<StartResult> {
  const started: RunningService[] = [];
  const start = async (service: ServiceName, planInput: PlanInput): Promise<RunningService | string> => {
    const plan = planService(service, planInput, deps.defaultPodName);
    if (!plan.ok) return plan.message;
    const running = await startService(plan.config, deps);
    deps.onStop(`${service} listener`, () => running.close());
    started.push(running);
    return running;
  };
  if (services !== "all") {
    const running = await start(services, input);
    return typeof running === "string" ? { ok: false, message: running } : { ok: true, services: started };
  }
  const portFor = (service: ServiceName) => (input.port === 0 ? 0 : input.port + ALL_PORT_OFFSETS[service]);
  // --version picks the reviews; the others are v1, as in Istio's bookinfo.yaml.
  const v1 = { ...input, version: "v1" } as const;
  const ratings = await start("ratings", { ...v1, port: portFor("ratings") });
  if (typeof ratings === "string") return { ok: false, message: ratings };
  const reviews = await start("reviews", { ...input, port: portFor("reviews"), ratingsUrl: ratings.url });
  if (typeof reviews === "string") return { ok: false, message: reviews };
  const details = await start("details", { ...v1, port: portFor("details") });
  if (typeof details === "string") return { ok: false, message: details };
  const productpage = await start("productpage", { ...v1, port: portFor("productpage"), detailsUrl: details.url, reviewsUrl: reviews.url, ratingsUrl: ratings.url });
  if (typeof productpage === "string") return { ok: false, message: productpage };
  return { ok: true, services: started };
}
