// The injector webhook with real AdmissionReview documents (testdata/, shaped like what the API
// server sends for a ReplicaSet's pod): the JSON Patch it answers, applied to the pod, gives a Pod
// that validates against the Kubernetes schema and carries the sidecar and the capture init
// container; a second pass changes nothing; opt-outs, bad annotations and bad requests are
// answered as the API server expects. HTTPS: start-injector-server.test.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Pod } from "kubernetes-models/v1/Pod";
import { describe, expect, it } from "vitest";
import type { AdmissionReview, AdmissionReviewResponse, JsonPatchOperation } from "./admission-review.ts";
import { buildCaptureRules } from "./capture-rules.ts";
import { defaultInjectionTemplate } from "./injection-template.ts";
import { buildInjectorServer } from "./injector-server.ts";

type Json = Record<string, unknown>;
const testdata = (file: string) => JSON.parse(readFileSync(join(import.meta.dirname, "testdata", file), "utf8")) as AdmissionReview & { request: { object: Json } };

/** RFC 6902 `add` and `replace` (the operations the injector uses), on a copy. */
function applyPatch(document: Json, operations: readonly JsonPatchOperation[]): Json {
  const copy = structuredClone(document);
  for (const operation of operations) {
    expect(["add", "replace"]).toContain(operation.op);
    const segments = operation.path.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = segments.pop() as string;
    let parent: unknown = copy;
    for (const segment of segments) {
      parent = (parent as Record<string, unknown>)[segment];
      if (parent === undefined) throw new Error(`patch path ${operation.path}: ${segment} does not exist (an add needs its parent)`);
    }
    if (operation.op === "replace" && (parent as Record<string, unknown>)[last] === undefined) throw new Error(`patch path ${operation.path}: replace needs an existing value`);
    if (Array.isArray(parent)) {
      if (operation.op === "replace") parent[Number(last)] = operation.value;
      else if (last === "-") parent.push(operation.value);
      else parent.splice(Number(last), 0, operation.value);
    } else (parent as Record<string, unknown>)[last] = operation.value;
  }
  return copy;
}

async function review(body: unknown) {
  const app = buildInjectorServer({ template: defaultInjectionTemplate });
  const response = await app.inject({ method: "POST", url: "/inject", payload: body as Json });
  await app.close();
  return response;
}

function decode(body: AdmissionReviewResponse): JsonPatchOperation[] | undefined {
  return body.response.patch === undefined ? undefined : (JSON.parse(Buffer.from(body.response.patch, "base64").toString("utf8")) as JsonPatchOperation[]);
}

interface PodView {
  metadata: { annotations?: Record<string, string> };
  spec: {
    containers: { name: string; env?: { name: string; value?: string }[]; securityContext?: Json; readinessProbe?: Json; livenessProbe?: Json; resources?: unknown }[];
    initContainers?: { name: string; command?: string[]; env?: { name: string; value?: string }[]; securityContext?: Json }[];
    volumes?: { name: string }[];
  };
}

function withReviewedPod(mutate: (pod: Json) => void): ReturnType<typeof testdata> {
  const document = testdata("pod-create-review.json");
  mutate(document.request.object);
  return document;
}

describe("sidecar injector webhook", () => {
  it("answers a pod's AdmissionReview with a JSON Patch adding the sidecar and the capture init container", async () => {
    const document = testdata("pod-create-review.json");
    const response = await review(document);
    expect(response.statusCode).toBe(200);
    const body = response.json<AdmissionReviewResponse>();
    expect(body).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: document.request.uid, allowed: true, patchType: "JSONPatch" } });
    const patch = decode(body) as JsonPatchOperation[];
    expect(patch.map((p) => p.path)).toEqual([
      "/metadata/annotations",
      "/spec/initContainers",
      "/spec/containers/0/livenessProbe",
      "/spec/containers/0/readinessProbe",
      "/spec/containers/-",
      "/spec/volumes/-",
      "/spec/volumes/-",
      "/spec/volumes/-",
      "/spec/volumes/-",
    ]);

    const patched = applyPatch(document.request.object, patch);
    expect(() => new Pod(patched).validate()).not.toThrow();
    const pod = patched as unknown as PodView;
    expect(pod.spec.containers.map((c) => c.name)).toEqual(["reviews", "meshwork-proxy"]);
    expect(pod.spec.initContainers?.map((c) => c.name)).toEqual(["meshwork-init"]);
    expect(pod.spec.volumes?.map((v) => v.name)).toEqual(["tmp", "kube-api-access-7xk2p", "meshwork-token", "meshwork-ca-root", "meshwork-tmp", "meshwork-init-run"]);
    expect(JSON.parse(pod.metadata.annotations?.["sidecar.meshwork.io/status"] ?? "{}")).toMatchObject({ containers: ["meshwork-proxy"], initContainers: ["meshwork-init"] });

    const init = pod.spec.initContainers?.[0];
    expect(init?.command?.join(" ")).toContain("iptables-restore --noflush");
    expect(init?.env?.find((e) => e.name === "MESHWORK_CAPTURE_RULES")?.value).toBe(buildCaptureRules({ proxyUid: 1337, sidecarPorts: [15000, 15020, 15021, 15090], inboundPortMap: new Map([[9080, 15100]]) }));
    expect(init?.securityContext).toMatchObject({ runAsUser: 0, capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] }, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });

    const sidecar = pod.spec.containers[1];
    const env = Object.fromEntries((sidecar?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ MESHWORK_APP_PORT: "9080", MESHWORK_LABELS: "app=reviews,app.kubernetes.io/part-of=bookinfo,pod-template-hash=7d8f9c6b5,version=v2", MESHWORK_INBOUND_PORT: "15006", MESHWORK_INBOUND_PORT_MAP: "9080:15100", MESHWORK_OUTBOUND_PORT: "15001", MESHWORK_SIDECAR_BIND: "0.0.0.0" });
    expect(sidecar?.securityContext).toMatchObject({ runAsUser: 1337, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(sidecar?.readinessProbe).toBeDefined();
    expect(sidecar?.livenessProbe).toBeDefined();
    expect(sidecar?.resources).toBeDefined();
  });

  it("points the app's HTTP probes at the sidecar's status port and hands the originals to the sidecar", async () => {
    const document = testdata("pod-create-review.json");
    const patch = decode((await review(document)).json<AdmissionReviewResponse>()) as JsonPatchOperation[];
    expect(patch.filter((p) => p.op === "replace").map((p) => p.path)).toEqual(["/spec/containers/0/livenessProbe", "/spec/containers/0/readinessProbe"]);
    const patched = applyPatch(document.request.object, patch);
    expect(() => new Pod(patched).validate()).not.toThrow();
    const [app, sidecar] = (patched as unknown as PodView).spec.containers;
    // Same timing, new target: the status port, which capture never redirects.
    expect(app?.livenessProbe).toEqual({ httpGet: { path: "/app-health/reviews/livez", port: 15020, scheme: "HTTP" }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    expect(app?.readinessProbe).toEqual({ httpGet: { path: "/app-health/reviews/readyz", port: 15020, scheme: "HTTP" }, timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 });
    // The named port "http" resolved to the container's 9080.
    const probers = JSON.parse(sidecar?.env?.find((e) => e.name === "MESHWORK_KUBE_APP_PROBERS")?.value ?? "{}") as unknown;
    expect(probers).toEqual({
      "/app-health/reviews/livez": { httpGet: { path: "/healthz", port: 9080, scheme: "HTTP" }, timeoutSeconds: 1 },
      "/app-health/reviews/readyz": { httpGet: { path: "/readyz", port: 9080, scheme: "HTTP" }, timeoutSeconds: 1 },
    });
  });

  it("keeps the probes when the pod opts out of the rewrite", async () => {
    const document = withReviewedPod((pod) => ((pod["metadata"] as Json)["annotations"] = { "sidecar.meshwork.io/rewriteAppHTTPProbers": "false" }));
    const patch = decode((await review(document)).json<AdmissionReviewResponse>()) as JsonPatchOperation[];
    expect(patch.every((p) => p.op === "add")).toBe(true);
    const pod = applyPatch(document.request.object, patch) as unknown as PodView;
    expect(pod.spec.containers[0]?.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "http" } });
    expect(pod.spec.containers[1]?.env?.map((e) => e.name)).not.toContain("MESHWORK_KUBE_APP_PROBERS");
  });

  it("is idempotent: the injected pod, reviewed again, is allowed unchanged", async () => {
    const document = testdata("pod-create-review.json");
    const first = decode((await review(document)).json<AdmissionReviewResponse>()) as JsonPatchOperation[];
    const again = { ...document, request: { ...document.request, object: applyPatch(document.request.object, first) } };
    const body = (await review(again)).json<AdmissionReviewResponse>();
    expect(body.response).toEqual({ uid: document.request.uid, allowed: true });
  });

  it("appends to existing annotations and init containers, escaping the annotation key", async () => {
    const document = withReviewedPod((pod) => {
      (pod["metadata"] as Json)["annotations"] = { "prometheus.io/scrape": "true" };
      (pod["spec"] as Json)["initContainers"] = [{ name: "migrate", image: "ghcr.io/example/migrate:1.0.0" }];
    });
    const patch = decode((await review(document)).json<AdmissionReviewResponse>()) as JsonPatchOperation[];
    expect(patch.slice(0, 2).map((p) => p.path)).toEqual(["/metadata/annotations/sidecar.meshwork.io~1status", "/spec/initContainers/-"]);
    const pod = applyPatch(document.request.object, patch) as unknown as PodView;
    expect(Object.keys(pod.metadata.annotations ?? {})).toEqual(["prometheus.io/scrape", "sidecar.meshwork.io/status"]);
    expect(pod.spec.initContainers?.map((c) => c.name)).toEqual(["migrate", "meshwork-init"]);
  });

  it("creates the volumes list for a pod without one", async () => {
    const document = withReviewedPod((pod) => {
      delete (pod["spec"] as Json)["volumes"];
    });
    const patch = decode((await review(document)).json<AdmissionReviewResponse>()) as JsonPatchOperation[];
    const volumesOp = patch.find((p) => p.path.startsWith("/spec/volumes"));
    expect(volumesOp?.path).toBe("/spec/volumes");
    expect(() => new Pod(applyPatch(document.request.object, patch)).validate()).not.toThrow();
  });

  it("honours the opt-out annotation and skips hostNetwork pods", async () => {
    for (const mutate of [
      (pod: Json) => ((pod["metadata"] as Json)["annotations"] = { "sidecar.meshwork.io/inject": "false" }),
      (pod: Json) => ((pod["spec"] as Json)["hostNetwork"] = true),
    ]) {
      const body = (await review(withReviewedPod(mutate))).json<AdmissionReviewResponse>();
      expect(body.response).toEqual({ uid: "4b1e3f8e-9c5d-4b5e-8f2a-2f6c0c9d7a11", allowed: true });
    }
  });

  it("turns capture exclusions from annotations into rules, and rejects a bad one naming the annotation", async () => {
    const good = withReviewedPod((pod) => ((pod["metadata"] as Json)["annotations"] = { "traffic.sidecar.meshwork.io/excludeOutboundPorts": "5432, 6379", "traffic.sidecar.meshwork.io/excludeOutboundIPRanges": "169.254.169.254/32" }));
    const patch = decode((await review(good)).json<AdmissionReviewResponse>()) as JsonPatchOperation[];
    const rules = JSON.stringify(patch);
    expect(rules).toContain("--dport 5432 -j RETURN");
    expect(rules).toContain("--dport 6379 -j RETURN");
    expect(rules).toContain("-d 169.254.169.254/32 -j RETURN");

    const bad = withReviewedPod((pod) => ((pod["metadata"] as Json)["annotations"] = { "traffic.sidecar.meshwork.io/excludeInboundPorts": "8080,http" }));
    const body = (await review(bad)).json<AdmissionReviewResponse>();
    expect(body.response.allowed).toBe(false);
    expect(body.response.status?.message).toMatch(/annotation traffic.sidecar.meshwork.io\/excludeInboundPorts: "http" is not a TCP port: write comma-separated ports/);
    const badRange = withReviewedPod((pod) => ((pod["metadata"] as Json)["annotations"] = { "traffic.sidecar.meshwork.io/excludeOutboundIPRanges": "10.0.0.0" }));
    expect((await review(badRange)).json<AdmissionReviewResponse>().response.status?.message).toMatch(/excludeOutboundIPRanges: "10.0.0.0" is not an IPv4 or IPv6 CIDR/);
  });

  it("allows other resources unchanged", async () => {
    const body = (await review(testdata("deployment-create-review.json"))).json<AdmissionReviewResponse>();
    expect(body.response).toEqual({ uid: "9a0e1c2d-3b4f-4a5e-8c7d-6e5f4a3b2c1d", allowed: true });
  });

  it("answers 400 with the fix to something that is not an AdmissionReview v1", async () => {
    const response = await review({ apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview", request: { uid: "x" } });
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/expected apiVersion admission.k8s.io\/v1 kind AdmissionReview.*admissionReviewVersions/);
  });
});

