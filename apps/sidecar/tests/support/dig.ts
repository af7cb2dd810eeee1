// The real `dig` (@meshwork/testing/dig) against the sidecar's DNS proxy, each answer record
// reduced to "name type data" (TTL and class left out: the proxy's TTLs are not what these tests
// compare).
import { digServer as digAtServer, requireDig } from "@meshwork/testing/dig";

export { requireDig };

export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  /** "name type data" per record. */
  readonly answer: readonly string[];
  readonly raw: string;
}

/** Asks the server at 127.0.0.1:`port` (`+tcp`, `-x ADDRESS` and the like in `args`). */
export function dig(port: number, ...args: string[]): Promise<DigResult> {
  return digServer("127.0.0.1", port, ...args);
}

/** As dig, at another address of the server's (`::1`, without brackets). */
export async function digServer(server: string, port: number, ...args: string[]): Promise<DigResult> {
  const result = await digAtServer(server, port, ...args);
  const answer = result.answer.map((record) => {
    const [name, , , type, ...data] = record.split(" ");
    return `${name} ${type} ${data.join(" ")}`;
  });
  return { status: result.status, flags: result.flags, answer, raw: result.raw };
}
