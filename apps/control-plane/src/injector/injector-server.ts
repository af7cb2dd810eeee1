// The sidecar-injector webhook (fastify, HTTPS in the cluster): POST /inject takes an
// admission.k8s.io/v1 AdmissionReview for a pod and answers with the JSON Patch that adds the
// sidecar (planInjection), or allows the pod unchanged. GET /healthz and /readyz for probes.
// The API server only calls it for pods in namespaces labelled meshwork-injection=enabled
// (deploy/k8s/base/injector/mutating-webhook.yaml).
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "@meshwork/telemetry";
import { reviewResponse, type AdmissionReview } from "./admission-review.ts";
import type { InjectionTemplate } from "./injection-template.ts";
import { planInjection } from "./plan-injection.ts";

export interface InjectorServerOptions {
  readonly template: InjectionTemplate;
  /** PEM key and certificate chain: serve HTTPS (the API server only calls webhooks over TLS). */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  readonly logger?: Logger;
}

/** Builds the webhook server (not listening yet: call listen(), or inject() in tests). */
export function buildInjectorServer(options: InjectorServerOptions): FastifyInstance {
  // The AdmissionReview of a large pod stays well under the API server's 3 MiB request limit.
  const bodyLimit = 8 * 1024 * 1024;
  // One type for both: the HTTPS and HTTP instances differ only in their server type parameter.
  const app = (options.tls ? Fastify({ https: { key: options.tls.key, cert: options.tls.cert, minVersion: "TLSv1.2" }, bodyLimit, logger: false }) : Fastify({ bodyLimit, logger: false })) as unknown as FastifyInstance;
  const logger = options.logger;

  app.get("/healthz", async () => "ok\n");
  app.get("/readyz", async () => "ok\n");

  app.post("/inject", async (request, reply) => {
    const review = request.body as Partial<AdmissionReview> | undefined;
    const problem = describeBadReview(review);
    if (problem) {
      logger?.warn("bad admission review", { problem });
      return reply.code(400).type("text/plain; charset=utf-8").send(`${problem}\n`);
    }
    const admission = (review as AdmissionReview).request as NonNullable<AdmissionReview["request"]>;
    const where = { uid: admission.uid, namespace: admission.namespace, name: admission.name ?? (admission.object as { metadata?: { generateName?: string } } | undefined)?.metadata?.generateName };
    if (admission.resource !== undefined && (admission.resource.resource !== "pods" || admission.resource.group !== "" || (admission.subResource ?? "") !== "")) {
      logger?.debug("not a pod: allowed unchanged", { ...where, resource: admission.resource.resource });
      return reviewResponse({ uid: admission.uid, allowed: true });
    }
    const plan = planInjection(admission.object, options.template);
    switch (plan.type) {
      case "skip":
        logger?.debug("not injected", { ...where, reason: plan.reason });
        return reviewResponse({ uid: admission.uid, allowed: true });
      case "reject":
        logger?.warn("pod rejected", { ...where, reason: plan.message });
        return reviewResponse({ uid: admission.uid, allowed: false, status: { code: 400, message: `meshwork sidecar injector: ${plan.message}` } });
      case "inject":
        logger?.info("sidecar injected", where);
        return reviewResponse({ uid: admission.uid, allowed: true, patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(plan.patch)).toString("base64") });
    }
  });
  return app;
}

function describeBadReview(review: Partial<AdmissionReview> | undefined): string | undefined {
  if (typeof review !== "object" || review === null) return "expected a JSON AdmissionReview body (Content-Type: application/json)";
  if (review.apiVersion !== "admission.k8s.io/v1" || review.kind !== "AdmissionReview") {
    return `expected apiVersion admission.k8s.io/v1 kind AdmissionReview, got ${String(review.apiVersion)} ${String(review.kind)}: set admissionReviewVersions: ["v1"] on the webhook`;
  }
  if (typeof review.request?.uid !== "string" || review.request.uid === "") return "the AdmissionReview has no request.uid";
  return undefined;
}
