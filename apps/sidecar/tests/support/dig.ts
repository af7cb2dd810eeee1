// The real `dig` against a DNS server on a loopback port, its output reduced to what tests compare:
// status, header flags and the answer section. `requireDig()` fails a test run that lacks it with
// the command that installs it.
import { execFile, execFileSync } from "node:child_process";

export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  /** "name type data" per record (TTL and class left out). */
  readonly answer: readonly string[];
  readonly raw: string;
}

/** Throws, naming the package to install, when `dig` is not on the PATH. */
export function requireDig(test: string): void {
  let path = "";
  try {
    path = execFileSync("sh", ["-c", "command -v dig"], { encoding: "utf8" }).trim();
  } catch {
    path = "";
  }
  if (path === "") throw new Error(`dig is missing: apt-get install -y dnsutils (${test} queries with the real dig)`);
}

/** Asks the server at 127.0.0.1:`port` (`+tcp`, `-x ADDRESS` and the like in `args`). */
export function dig(port: number, ...args: string[]): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile("dig", ["@127.0.0.1", "-p", String(port), "+tries=1", "+time=8", ...args], { encoding: "utf8" }, (error, stdout) => {
      if (error !== null && stdout === "") {
        reject(error);
        return;
      }
      const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(stdout);
      const answer = section === null ? [] : (section[1] as string).split("\n").filter((l) => l !== "" && !l.startsWith(";")).map((l) => {
        const [name, , , type, ...data] = l.trim().split(/\s+/);
        return `${name} ${type} ${data.join(" ")}`;
      });
      resolve({ status: /status: (\w+)/.exec(stdout)?.[1] ?? "", flags: (/;; flags: ([\w ]*);/.exec(stdout)?.[1] ?? "").split(" ").filter((f) => f !== ""), answer, raw: stdout });
    });
  });
}
