// Parsing of Consul's common query parameters: blocking (?index&wait), consistency, numbers, filters.
import type { ReadConsistency } from "../registry-contract.ts";
import { parseDurationMs } from "./consul-duration.ts";
import { badRequest } from "./http-error.ts";

/** Consul's defaults for blocking queries (agent/http.go): 5 minutes, at most 10, plus up to wait/16 of jitter. */
export const defaultWaitMs = 5 * 60_000;
export const maxWaitMs = 10 * 60_000;
export const jitterFraction = 16;

export interface BlockingParams {
  /** `?index=`: 0 when absent (no blocking). */
  readonly minIndex: number;
  /** `?wait=` clamped to [0, 10 min], default 5 min; without jitter. */
  readonly waitMs: number;
}

/** Consul takes a flag by its presence (`?recurse`, `?recurse=true` alike). */
export function hasFlag(query: URLSearchParams, name: string): boolean {
  return query.has(name);
}

/** A non-negative safe integer parameter, or undefined when absent. */
export function parseUintParam(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  return parseUint(text, `?${name}`);
}

export function parseUint(text: string, what: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw badRequest(`Invalid ${what} "${text}": use a non-negative integer (at most ${Number.MAX_SAFE_INTEGER})`);
  }
  return Number(text);
}

export function parseBlocking(query: URLSearchParams): BlockingParams {
  return { minIndex: parseUintParam(query, "index") ?? 0, waitMs: parseWaitMs(query) };
}

/** `?wait=` clamped to [0, 10 min], default 5 min. */
export function parseWaitMs(query: URLSearchParams): number {
  const waitText = query.get("wait");
  return waitText === null || waitText === "" ? defaultWaitMs : Math.min(parseDurationMs(waitText, "?wait"), maxWaitMs);
}

/** The wait a blocking query really gets: Consul adds a random stagger of up to wait/16 so clients spread out. */
export function jitteredWaitMs(waitMs: number, random: () => number): number {
  return waitMs + Math.floor(random() * (waitMs / jitterFraction));
}

export function parseConsistency(query: URLSearchParams): ReadConsistency {
  const consistent = query.has("consistent");
  const stale = query.has("stale");
  if (consistent && stale) throw badRequest("Cannot specify ?stale with ?consistent, conflicting semantics: pick one");
  return consistent ? "consistent" : stale ? "stale" : "default";
}

/** `?tag=a&tag=b`: every tag must be on the service. */
export function parseTags(query: URLSearchParams): readonly string[] {
  return query.getAll("tag").filter((tag) => tag !== "");
}

/** `?node-meta=key:value` (repeatable): every pair must be in the node's meta. */
export function parseNodeMeta(query: URLSearchParams): readonly (readonly [string, string])[] {
  return query.getAll("node-meta").map((pair) => {
    const colon = pair.indexOf(":");
    if (colon <= 0) throw badRequest(`Invalid ?node-meta "${pair}": use key:value`);
    return [pair.slice(0, colon), pair.slice(colon + 1)] as const;
  });
}
