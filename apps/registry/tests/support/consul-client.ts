// A few lines of fetch for the HTTP API tests: status, headers, body as text and JSON.

export interface ConsulAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: unknown;
  /** X-Consul-Index as a number (NaN when absent). */
  readonly index: number;
}

export function consulClient(port: number) {
  return async (method: string, path: string, body?: unknown): Promise<ConsulAnswer> => {
    const payload = body === undefined ? undefined : typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, body: payload, redirect: "manual" });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json, index: Number(response.headers.get("x-consul-index") ?? Number.NaN) };
  };
}

/** Map-like fields whose keys are data, not schema (compared as string → string maps). */
const dataKeyedFields = new Set(["Meta", "NodeMeta", "ServiceMeta"]);

/**
 * Fields of Consul's examples we do not produce, each for a stated reason: Enterprise-only
 * (`Namespace`), or `omitempty` in Consul and never set here (services' tagged addresses).
 */
export const notProduced = ["Namespace", "ServiceTaggedAddresses", "$[0].Service.TaggedAddresses", "$.TaggedAddresses"];

/**
 * Lists where `actual` lacks a field of Consul's documented `example` or has it with another
 * JSON type, recursively (arrays by their first element); `skip` names fields (anywhere) or
 * `$`-paths to leave out. Empty = same shape.
 */
export function shapeMismatches(actual: unknown, example: unknown, skip: readonly string[] = notProduced, path = "$"): string[] {
  if (example === null) return [];
  if (Array.isArray(example)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${JSON.stringify(actual)}`];
    return example.length > 0 && actual.length > 0 ? shapeMismatches(actual[0], example[0], skip, `${path}[0]`) : [];
  }
  if (typeof example === "object") {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    const out: string[] = [];
    for (const [key, value] of Object.entries(example)) {
      const fieldPath = `${path}.${key}`;
      if (skip.includes(key) || skip.includes(fieldPath)) continue;
      if (!(key in actual)) {
        out.push(`${fieldPath}: missing`);
        continue;
      }
      const field = (actual as Record<string, unknown>)[key];
      if (dataKeyedFields.has(key)) {
        if (typeof field !== "object" || field === null || Object.values(field).some((v) => typeof v !== "string")) out.push(`${fieldPath}: expected a string map`);
        continue;
      }
      out.push(...shapeMismatches(field, value, skip, fieldPath));
    }
    return out;
  }
  return typeof actual === typeof example ? [] : [`${path}: expected ${typeof example}, got ${JSON.stringify(actual)}`];
}
