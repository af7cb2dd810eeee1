// Plain KV calls for the disk and bad-input tests: a PUT retried until acknowledged, and reads.
import { attempt } from "./kv-workload.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** PUTs until some node in `urls` answers 200 true (rotating on failures); throws after `timeoutMs`. */
export async function putAcknowledged(urls: readonly string[], key: string, value: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (let k = 0; Date.now() < deadline; k++) {
    const answer = await attempt(`${urls[k % urls.length]}/v1/kv/${key}`, { method: "PUT", body: value }, 3000);
    if (answer.kind === "done" && answer.status === 200 && answer.body.trim() === "true") return;
    last = answer.kind === "done" ? `${answer.status} ${answer.body}` : answer.code;
    await sleep(100);
  }
  throw new Error(`PUT ${key} was not acknowledged within ${timeoutMs} ms (last: ${last})`);
}

/** GET with `mode` (e.g. "consistent", "stale"): the value, null when absent; throws on any other answer. */
export async function readValue(url: string, key: string, mode: string): Promise<string | null> {
  const answer = await attempt(`${url}/v1/kv/${key}?${mode}`, { method: "GET" }, 5000);
  if (answer.kind !== "done") throw new Error(`GET ${key} through ${url}: ${answer.code}`);
  if (answer.status === 404) return null;
  if (answer.status !== 200) throw new Error(`GET ${key} through ${url}: ${answer.status} ${answer.body}`);
  const [entry] = JSON.parse(answer.body) as { Value: string | null }[];
  return Buffer.from(entry?.Value ?? "", "base64").toString("utf8");
}

/** Retries `read` until it returns `want` or `timeoutMs` passes; returns the last value seen. */
export async function eventually<T>(read: () => Promise<T>, want: T, timeoutMs = 15_000): Promise<T | string> {
  const deadline = Date.now() + timeoutMs;
  let last: T | string = "(no answer)";
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (last === want) return last;
    } catch (error) {
      last = String(error);
    }
    await sleep(100);
  }
  return last;
}
