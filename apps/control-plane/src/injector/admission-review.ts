// The parts of Kubernetes' admission.k8s.io/v1 AdmissionReview the injector reads and writes
// (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/).

export interface AdmissionReviewRequest {
  readonly uid: string;
  readonly kind?: { readonly group: string; readonly version: string; readonly kind: string };
  readonly resource?: { readonly group: string; readonly version: string; readonly resource: string };
  readonly subResource?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly operation?: string;
  readonly object?: unknown;
  readonly dryRun?: boolean;
}

export interface AdmissionReview {
  readonly apiVersion: string;
  readonly kind: string;
  readonly request?: AdmissionReviewRequest;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly patchType?: "JSONPatch";
  /** base64 of the JSON Patch (RFC 6902) document. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
}

/** One RFC 6902 operation: the injector adds, and replaces the app's probes it rewrites. */
export interface JsonPatchOperation {
  readonly op: "add" | "replace";
  readonly path: string;
  readonly value: unknown;
}

export interface AdmissionReviewResponse {
  readonly apiVersion: "admission.k8s.io/v1";
  readonly kind: "AdmissionReview";
  readonly response: AdmissionResponse;
}

/** Escapes one JSON Pointer segment (RFC 6901): `sidecar.meshwork.io/status` → `sidecar.meshwork.io~1status`. */
export function pointerSegment(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Wraps a response in the AdmissionReview envelope the API server expects back. */
export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}
