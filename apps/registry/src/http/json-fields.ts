// Reading Consul request bodies: Go's encoding/json matches field names case-insensitively and
// Consul's decode hooks also take snake_case (deregister_critical_service_after), so do we.
import { badRequest } from "./http-error.ts";

/** Typed, case- and underscore-insensitive access to one JSON object of a request body. */
export class JsonFields {
  readonly what: string;
  private readonly fields: ReadonlyMap<string, unknown>;

  constructor(value: unknown, what: string) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw badRequest(`Request decode failed: ${what} must be a JSON object`);
    }
    this.what = what;
    this.fields = new Map(Object.entries(value).map(([key, field]) => [normalize(key), field]));
  }

  has(name: string): boolean {
    const field = this.fields.get(normalize(name));
    return field !== undefined && field !== null;
  }

  raw(name: string): unknown {
    return this.fields.get(normalize(name)) ?? undefined;
  }

  string(name: string): string | undefined {
    const field = this.raw(name);
    if (field === undefined || field === null) return undefined;
    if (typeof field !== "string") throw this.wrongType(name, "a string");
    return field;
  }

  number(name: string): number | undefined {
    const field = this.raw(name);
    if (field === undefined || field === null) return undefined;
    if (typeof field !== "number" || !Number.isFinite(field)) throw this.wrongType(name, "a number");
    return field;
  }

  uint(name: string): number | undefined {
    const field = this.number(name);
    if (field !== undefined && (!Number.isSafeInteger(field) || field < 0)) throw this.wrongType(name, "a non-negative integer");
    return field;
  }

  boolean(name: string): boolean | undefined {
    const field = this.raw(name);
    if (field === undefined || field === null) return undefined;
    if (typeof field !== "boolean") throw this.wrongType(name, "true or false");
    return field;
  }

  strings(name: string): readonly string[] | undefined {
    const field = this.raw(name);
    if (field === undefined || field === null) return undefined;
    if (!Array.isArray(field) || field.some((item) => typeof item !== "string")) throw this.wrongType(name, "an array of strings");
    return field as string[];
  }

  stringMap(name: string): Readonly<Record<string, string>> | undefined {
    const field = this.raw(name);
    if (field === undefined || field === null) return undefined;
    if (typeof field !== "object" || Array.isArray(field) || Object.values(field).some((item) => typeof item !== "string")) {
      throw this.wrongType(name, "an object of string values");
    }
    return field as Record<string, string>;
  }

  object(name: string): JsonFields | undefined {
    const field = this.raw(name);
    if (field === undefined || field === null) return undefined;
    return new JsonFields(field, `${this.what}.${name}`);
  }

  objects(name: string): readonly JsonFields[] | undefined {
    const field = this.raw(name);
    if (field === undefined || field === null) return undefined;
    if (!Array.isArray(field)) throw this.wrongType(name, "an array of objects");
    return field.map((item, i) => new JsonFields(item, `${this.what}.${name}[${i}]`));
  }

  private wrongType(name: string, expected: string) {
    return badRequest(`Request decode failed: ${this.what}.${name} must be ${expected}`);
  }
}

function normalize(name: string): string {
  return name.replaceAll("_", "").toLowerCase();
}

/** Parses a request body as JSON, answering 400 with the parser's message when it is not. */
export function parseJsonBody(body: Uint8Array, what: string): unknown {
  const text = new TextDecoder().decode(body);
  if (text.trim() === "") throw badRequest(`Request decode failed: ${what} is empty, send a JSON body`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`Request decode failed: ${what} is not JSON (${(error as Error).message})`);
  }
}
