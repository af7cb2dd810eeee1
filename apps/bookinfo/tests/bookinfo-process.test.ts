// The real entry point as a child process: `bookinfo all` serves the product page and stops
// with exit 0 on SIGTERM; usage errors exit 2 with one line naming the problem.
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { denoBinary, ProcessGroup } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
const processes = new ProcessGroup();
afterAll(() => processes.killAll());

const runBookinfo = (args: readonly string[], runtime: "node" | "deno" = "node") => processes.startSource("src/main.ts", args, { cwd: projectRoot, name: `bookinfo (${runtime})`, runtime });

describe("the bookinfo process", () => {
  it.each(["node", "deno"] as const)("`all` under %s serves the product page with reviews v3, then stops cleanly on SIGTERM", { timeout: 60_000 }, async (runtime) => {
    if (runtime === "deno" && !existsSync(denoBinary)) throw new Error(`Deno is missing at ${denoBinary}: run \`npm ci\` (devDependency deno)`);
    const run = runBookinfo(["all", "--version", "v3", "--port", "0"], runtime);
    const ready = await run.waitForLine("ready");
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
