// Where a JWT rule's keys come from: a key set given inline (parsed once), or one fetched from
// `jwksUri` and kept fresh — refreshed every cache period (Envoy remote_jwks cache_duration, 5 min
// as Istio configures it), fetched again at once when a token names a kid the set lacks (so a
// rotated-in key is accepted on its first use), and kept when a fetch fails (the last good keys
// keep verifying; failures retry with backoff). Clock and timers are injected.
import type { Timers } from "@meshwork/runtime";
import type { JwtStatus } from "./jwt-status.ts";
import { parseJwks, type Jwk } from "./parse-jwks.ts";

/** Fetches the text of a key set; rejects on a transport error, a non-200 answer or after `timeoutMs`. */
export type FetchJwks = (uri: string, timeoutMs: number) => Promise<string>;

/** Keys now: the set, "pending" while the first fetch runs, or why there are none. */
export type KeysNow = readonly Jwk[] | "pending" | JwtStatus;

export interface JwksSource {
  /** What to verify with now; never waits. */
  keys(): KeysNow;
  /**
   * Asks for a fresh set because a token names a kid or alg the current one lacks (or there is no
   * set yet). Resolves once that fetch settled; undefined when rate-limited (the caller decides with
   * what it has). Concurrent callers share one fetch.
   */
  refetch(): Promise<void> | undefined;
  /** Resolves when the first load settled (at once for an inline set). */
  ready(): Promise<void>;
  /** Resolves when the fetch now running (if any) settled; what a "pending" caller waits for. */
  fetching(): Promise<void>;
  close(): void;
}

/** A key set written in the policy. */
export function inlineJwks(text: string): JwksSource {
  const keys = parseJwks(text);
  const done = Promise.resolve();
  return { keys: () => keys, refetch: () => undefined, ready: () => done, fetching: () => done, close: () => undefined };
}

export interface RemoteJwksOptions {
  /** The key set's URL, or with `discovery` the issuer's OpenID configuration URL. */
  readonly uri: string;
  /** Read the key set's URL from the OpenID configuration at `uri` (its `jwks_uri`) on every fetch. */
  readonly discovery?: boolean;
  readonly timeoutMs: number;
  readonly fetchJwks: FetchJwks;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly timers: Timers;
  /** Refresh period of a good set; default 5 min (Istio's remote_jwks cache_duration). */
  readonly cacheDurationMs?: number;
  /** First retry after a failed fetch, doubling up to `maxRetryMs`; default 1 s (Envoy failed_refetch_duration). */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /** Least time between fetches caused by unknown kids, so tokens with made-up kids cannot hammer the issuer; default 10 s. */
  readonly kidRefetchIntervalMs?: number;
  /** Told about each fetch outcome (for logs and stats). */
  readonly onFetch?: (event: { readonly uri: string; readonly ok: boolean; readonly error?: string; readonly keyCount?: number }) => void;
}

export const defaultJwksCacheDurationMs = 5 * 60_000;

/** A key set fetched from `uri`; the first fetch starts at once. */
export class RemoteJwks implements JwksSource {
  readonly uri: string;
  readonly timeoutMs: number;
  private current: readonly Jwk[] | undefined;
  private lastError: JwtStatus = "JwksFetchFail";
  private inflight: Promise<void> | undefined;
  private readonly first: Promise<void>;
  private timer: unknown;
  private closed = false;
  private failures = 0;
  private lastKidRefetchMs = Number.NEGATIVE_INFINITY;
  private readonly cacheDurationMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly kidRefetchIntervalMs: number;

  private readonly options: RemoteJwksOptions;

  constructor(options: RemoteJwksOptions) {
    this.options = options;
    this.uri = options.uri;
    this.timeoutMs = options.timeoutMs;
    this.cacheDurationMs = options.cacheDurationMs ?? defaultJwksCacheDurationMs;
    this.retryMs = options.retryMs ?? 1_000;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    this.kidRefetchIntervalMs = options.kidRefetchIntervalMs ?? 10_000;
    this.first = this.fetch();
  }

  keys(): KeysNow {
    if (this.current !== undefined) return this.current;
    return this.inflight !== undefined ? "pending" : this.lastError;
  }

  refetch(): Promise<void> | undefined {
    if (this.inflight !== undefined) return this.inflight;
    const now = this.options.now();
    if (now - this.lastKidRefetchMs < this.kidRefetchIntervalMs) return undefined;
    this.lastKidRefetchMs = now;
    return this.fetch();
  }

  ready(): Promise<void> {
    return this.first;
  }

  fetching(): Promise<void> {
    return this.inflight ?? Promise.resolve();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fetch(): Promise<void> {
    if (this.inflight !== undefined) return this.inflight;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    const get = (uri: string): Promise<string> => {
      try {
        return this.options.fetchJwks(uri, this.timeoutMs);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const started = this.options.discovery ? get(this.uri).then((text) => get(jwksUriOf(text, this.uri))) : get(this.uri);
    const run = started
      .then(
        (text) => {
          const keys = parseJwks(text);
          if (typeof keys === "string") this.failed(keys, `key set is unusable: ${keys}`);
          else this.succeeded(keys);
        },
        (error: unknown) => this.failed("JwksFetchFail", error instanceof Error ? error.message : String(error)),
      )
      .finally(() => {
        this.inflight = undefined;
      });
    this.inflight = run;
    return run;
  }

  private succeeded(keys: readonly Jwk[]): void {
    if (this.closed) return;
    this.current = keys;
    this.failures = 0;
    this.options.onFetch?.({ uri: this.uri, ok: true, keyCount: keys.length });
    this.schedule(this.cacheDurationMs);
  }

  private failed(status: JwtStatus, error: string): void {
    if (this.closed) return;
    // The last good keys stay in use; only a source that never loaded reports the failure.
    this.lastError = status;
    this.failures++;
    this.options.onFetch?.({ uri: this.uri, ok: false, error });
    this.schedule(Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.min(this.failures - 1, 20)));
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      void this.fetch();
    }, delayMs);
  }
}

/** `jwks_uri` of an OpenID Provider configuration (OpenID Connect Discovery 1.0 §3); throws when there is none. */
export function jwksUriOf(configuration: string, from: string): string {
  let value: unknown;
  try {
    value = JSON.parse(configuration);
  } catch {
    throw new Error(`the OpenID configuration at ${from} is not JSON`);
  }
  const uri = typeof value === "object" && value !== null && Object.hasOwn(value, "jwks_uri") ? (value as { jwks_uri: unknown }).jwks_uri : undefined;
  if (typeof uri !== "string" || !/^https?:\/\//i.test(uri)) throw new Error(`the OpenID configuration at ${from} has no http(s) jwks_uri`);
  return uri;
}
