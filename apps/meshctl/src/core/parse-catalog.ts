// Parses the registry snapshot given to `meshctl analyze --services FILE` (YAML or JSON) into a
// MeshCatalog, checking its shape so the analysis can trust it. Pure: the caller reads the file.

import type { MeshCatalog } from "@meshwork/config";
import { parse } from "yaml";

type Service = MeshCatalog["services"][number];

export type ParseCatalogResult = { readonly ok: true; readonly catalog: MeshCatalog } | { readonly ok: false; readonly message: string };

/**
 * Expects `{ services: [{ name, namespace, hostname?, ports?: [{ number, name?, protocol? }],
 * instances?: [{ labels?, address? }] }] }`. A missing `instances[].labels` becomes `{}`.
 * The failure message names the field path ("services[1].ports[0].number") and what it should be.
 */
export function parseCatalog(text: string): ParseCatalogResult {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    const firstLine = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
    return { ok: false, message: `not valid YAML or JSON: ${firstLine}` };
  }
  try {
    const root = expectObject(document, "the file");
    const services = expectArray(root["services"], "services").map((item, index) => readService(item, `services[${index}]`));
    return { ok: true, catalog: { services } };
  } catch (error) {
    if (error instanceof ShapeProblem) return { ok: false, message: error.message };
    throw error;
  }
}

/** Thrown inside this module only; parseCatalog turns it into a result. */
class ShapeProblem extends Error {}

function readService(value: unknown, path: string): Service {
  const service = expectObject(value, path);
  const ports = optional(service["ports"], (ports) =>
    expectArray(ports, `${path}.ports`).map((item, index) => {
      const port = expectObject(item, `${path}.ports[${index}]`);
      const number = port["number"];
      if (typeof number !== "number" || !Number.isInteger(number) || number < 1 || number > 65535) {
        throw new ShapeProblem(`${path}.ports[${index}].number: expected a port number from 1 to 65535, got ${JSON.stringify(number)}`);
      }
      return {
        number,
        ...optionalField(port, "name", `${path}.ports[${index}]`),
        ...optionalField(port, "protocol", `${path}.ports[${index}]`),
      };
    }),
  );
  const instances = optional(service["instances"], (instances) =>
    expectArray(instances, `${path}.instances`).map((item, index) => {
      const instance = expectObject(item, `${path}.instances[${index}]`);
      const labels = optional(instance["labels"], (labels) => readLabels(labels, `${path}.instances[${index}].labels`)) ?? {};
      return { labels, ...optionalField(instance, "address", `${path}.instances[${index}]`) };
    }),
  );
  return {
    name: expectString(service["name"], `${path}.name`),
    namespace: expectString(service["namespace"], `${path}.namespace`),
    ...optionalField(service, "hostname", path),
    ...(ports === undefined ? {} : { ports }),
    ...(instances === undefined ? {} : { instances }),
  };
}

function readLabels(value: unknown, path: string): Record<string, string> {
  const labels = expectObject(value, path);
  for (const [key, label] of Object.entries(labels)) {
    // Kubernetes allows empty label values, so only the type is checked.
    if (typeof label !== "string") throw new ShapeProblem(`${path}.${key}: expected a string, got ${describe(label)}`);
  }
  return labels as Record<string, string>;
}

function optional<T>(value: unknown, read: (value: unknown) => T): T | undefined {
  return value === undefined || value === null ? undefined : read(value);
}

function optionalField<K extends string>(object: Record<string, unknown>, key: K, path: string): { [P in K]?: string } {
  const value = object[key];
  return value === undefined || value === null ? {} : ({ [key]: expectString(value, `${path}.${key}`) } as { [P in K]?: string });
}

function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ShapeProblem(`${path}: expected a mapping, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ShapeProblem(`${path}: expected a list, got ${describe(value)}`);
  return value;
}

function expectString(value: unknown, path: string): string {
  if (typeof value !== "string" || value === "") throw new ShapeProblem(`${path}: expected a non-empty string, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  return typeof value === "object" ? "a mapping" : JSON.stringify(value);
}
