// Entry `@meshwork/testing/dig`: the real `dig` against a DNS server on a loopback port, for the
// registry's and the sidecar's DNS tests. Its output is reduced to what tests compare: the status,
// the header flags and each section's records as "name ttl class type data" (single-spaced).
import { execFile, execFileSync } from "node:child_process";

export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  readonly answer: readonly string[];
  readonly authority: readonly string[];
  readonly additional: readonly string[];
  readonly raw: string;
}

/** Throws, naming the package to install, when `dig` is not on the PATH (`test` says who needs it). */
export function requireDig(test: string): void {
  let path = "";
  try {
    path = execFileSync("sh", ["-c", "command -v dig"], { encoding: "utf8" }).trim();
  } catch {
    path = "";
  }
  if (path === "") throw new Error(`dig is missing: apt-get install -y dnsutils (${test} queries with the real dig)`);
}

/** Asks the server at 127.0.0.1:`port` (`+tcp`, `+notcp`, `-x ADDRESS` and the like in `args`). */
export function dig(port: number, ...args: string[]): Promise<DigResult> {
  return digServer("127.0.0.1", port, ...args);
}

/** As dig, at another loopback address of the server's (`::1`, without brackets). */
export function digServer(server: string, port: number, ...args: string[]): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile("dig", [`@${server}`, "-p", String(port), "+tries=1", "+time=8", ...args], { encoding: "utf8" }, (error, stdout) => {
      if (error !== null && stdout === "") {
        reject(error);
        return;
      }
      const section = (title: string): string[] => {
        const match = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
        return match === null ? [] : (match[1] as string).split("\n").filter((line) => line !== "" && !line.startsWith(";")).map((line) => line.trim().split(/\s+/).join(" "));
      };
      resolve({
        status: /status: (\w+)/.exec(stdout)?.[1] ?? "",
        flags: (/;; flags: ([\w ]*);/.exec(stdout)?.[1] ?? "").split(" ").filter((f) => f !== ""),
        answer: section("ANSWER"),
        authority: section("AUTHORITY"),
        additional: section("ADDITIONAL"),
        raw: stdout,
      });
    });
  });
}
