import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { runCommand } from "../../tests/support/run-command.ts";
import { consoleUrl, dashboardCommand } from "./dashboard-command.ts";

describe("dashboard", () => {
  it("builds the console URL with the token", () => {
    expect(consoleUrl("http://127.0.0.1:15014", undefined)).toBe("http://127.0.0.1:15014/console/");
    expect(consoleUrl("http://10.0.0.5:15014/", "a b")).toBe("http://10.0.0.5:15014/console/?token=a+b");
  });

  it("prints the URL once the console answers, and says why when it does not", async () => {
    const server = createServer((req, res) => {
      const ok = req.url === "/console/api/overview?token=t";
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" }).end(JSON.stringify(ok ? { controlPlane: "cp" } : { error: "this console needs its token" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      expect(await runCommand(dashboardCommand, ["--control-plane", base, "--console-token", "t"])).toEqual({ code: 0, out: `${base}/console/?token=t\n`, err: "" });
      const refused = await runCommand(dashboardCommand, ["--control-plane", base]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain("needs its token");
    } finally {
      server.close();
    }
    const unreachable = await runCommand(dashboardCommand, ["--control-plane", "http://127.0.0.1:1"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain("cannot reach");
    expect((await runCommand(dashboardCommand, ["--control-plane", "http://127.0.0.1:1", "--no-check"])).out).toBe("http://127.0.0.1:1/console/\n");
  });
});
