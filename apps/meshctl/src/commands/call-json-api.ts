// One HTTP call to a Meshwork admin API (control plane, CA, registry) from a meshctl command:
// the answer's status and parsed body, or one sentence naming what failed and the flag to fix.
import type { CommandContext } from "./command.ts";

export type JsonAnswer = { readonly ok: true; readonly status: number; readonly body: unknown } | { readonly ok: false; readonly message: string };

export interface ApiTarget {
  /** Base URL, e.g. http://127.0.0.1:15014. */
  readonly base: string;
  /** The flag that set `base`, named in errors ("--control-plane"). */
  readonly flag: string;
  /** What listens there, for errors ("the control plane's admin port"). */
  readonly what: string;
}

export interface CallOptions {
  readonly body?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Calls `method path` on `target`; a body that is not JSON is returned as text. */
export async function callJsonApi(context: CommandContext, target: ApiTarget, method: string, path: string, options: CallOptions = {}): Promise<JsonAnswer> {
  let url: URL;
  try {
    url = new URL(path, target.base);
  } catch {
    return { ok: false, message: `${target.flag} "${target.base}" is not a URL; use http://HOST:PORT (${target.what})` };
  }
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  let response: Response;
  try {
    response = await context.io.fetch(url.href, { method, headers, signal: context.signal, ...(options.body !== undefined ? { body: options.body } : {}) });
  } catch (error) {
    const inner = (error as { cause?: { code?: string; message?: string } }).cause;
    const cause = inner?.code ?? inner?.message ?? (error as Error).message;
    return { ok: false, message: `cannot reach ${target.what} at ${url.origin} (${cause}); is it running, and is ${target.flag} right?` };
  }
  const text = await response.text();
  try {
    return { ok: true, status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    return { ok: true, status: response.status, body: text };
  }
}

/** The `error` field of an API error body, else the body as text. */
export function errorOf(body: unknown): string {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === "string") return error;
  return typeof body === "string" ? body.trim() : JSON.stringify(body);
}
