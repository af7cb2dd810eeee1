// The real entry point as a child process: `bookinfo all` serves the product page and stops
// with exit 0 on SIGTERM; usage errors exit 2 with one line naming the problem.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
/** The Deno binary npm installs (root devDependency `deno`). */
const denoBinary = join(projectRoot, "../../node_modules/@deno/linux-x64-glibc/deno");

interface Run {
  readonly waitFor: (msg: string) => Promise<Record<string, unknown>>;
  readonly lines: () => Record<string, unknown>[];
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
  readonly kill: (signal: NodeJS.Signals) => void;
}

function runBookinfo(args: readonly string[], runtime: "node" | "deno" = "node"): Run {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MESHWORK_")));
  const [command, prefix] = runtime === "deno" ? [denoBinary, ["run", "-A", "--conditions=@meshwork/source"]] : [process.execPath, ["--import", "tsx", "--conditions=@meshwork/source"]];
  const child = spawn(command, [...prefix, "src/main.ts", ...args], { cwd: projectRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const listeners: (() => void)[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    for (const l of listeners) l();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const lines = () => out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    lines,
    stderr: () => err,
    exit,
    kill: (signal) => child.kill(signal),
    waitFor: (msg) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines().find((l) => l["msg"] === msg);
          if (found) resolve(found);
        };
        listeners.push(check);
        void exit.then((code) => reject(new Error(`exited with ${code} before "${msg}": ${out}${err}`)));
        check();
      }),
  };
}

describe("the bookinfo process", () => {
  it.each(["node", "deno"] as const)("`all` under %s serves the product page with reviews v3, then stops cleanly on SIGTERM", { timeout: 60_000 }, async (runtime) => {
    if (runtime === "deno" && !existsSync(denoBinary)) throw new Error(`Deno is missing at ${denoBinary}: run \`npm ci\` (devDependency deno)`);
    const run = runBookinfo(["all", "--version", "v3", "--port", "0"], runtime);
    const ready = await run.waitFor("ready");
    const services = ready["services"] as { service: string; url: string }[];
    expect(services.map((s) => s.service)).toEqual(["ratings", "reviews", "details", "productpage"]);
    const productpage = services.find((s) => s.service === "productpage")?.url ?? "";
    const page = await (await fetch(`${productpage}/productpage`)).text();
    expect(page).toContain("<title>Simple Bookstore App</title>");
    expect(page).toContain('<font color="red">');
    run.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    expect(run.lines().map((l) => l["msg"])).toContain("stopped");
  });

  it.each([
    [[], "bookinfo: missing service: expected one of productpage, details, reviews, ratings, all (bookinfo reviews --version v2 --port 9080)\n"],
    [["reveiws"], 'bookinfo: unknown service "reveiws": expected one of productpage, details, reviews, ratings, all\n'],
    [["reviews", "--version", "v4"], 'bookinfo: invalid value "v4" for --version: expected one of v1, v2, v3\n'],
    [["productpage", "--port", "0", "--reviews-url", "ftp://x"], 'bookinfo: invalid value "ftp://x" for --reviews-url: expected an http:// URL such as http://127.0.0.1:9080\n'],
  ])("refuses %j with exit 2 and one line", { timeout: 30_000 }, async (args, message) => {
    const run = runBookinfo(args);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toBe(message);
  });

  it("exits 1 naming the port and the fix when the port is taken", { timeout: 30_000 }, async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const run = runBookinfo(["details", "--port", String(port)]);
      expect(await run.exit).toBe(1);
      expect(run.lines().find((l) => l["level"] === "error")).toMatchObject({
        msg: `cannot listen on 127.0.0.1:${port} (EADDRINUSE): stop what holds the port or choose another with --port, or fix --bind`,
      });
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
