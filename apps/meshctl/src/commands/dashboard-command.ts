// `meshctl dashboard`: the URL of the console a control plane serves at /console/ on its admin
// port, checked by asking its API (istioctl dashboard / consul ui). Prints it; opening a browser
// is left to the terminal (most make the URL clickable).
import { defineSettings } from "@meshwork/runtime";
import { callJsonApi, errorOf } from "./call-json-api.ts";
import { defineCommand, formatUsageError } from "./command.ts";
import { controlPlaneTarget } from "./config-commands.ts";

/** The console URL on `base` (the admin port), carrying the token when there is one. */
export function consoleUrl(base: string, token: string | undefined): string {
  const url = new URL("/console/", base);
  if (token !== undefined && token !== "") url.searchParams.set("token", token);
  return url.href;
}

export const dashboardCommand = defineCommand({
  name: "dashboard",
  summary: "Print the URL of the mesh console (service graph, services, proxy status, config, identities, registry).",
  usage: "meshctl dashboard [--control-plane URL] [--console-token TOKEN] [--no-check]",
  description: [
    "The control plane serves the console at /console/ on its admin port. dashboard checks that the console answers",
    "there (GET /console/api/overview) and prints its URL, with ?token= when the control plane was started with",
    "--console-token (required when its admin port binds beyond loopback).",
  ].join("\n"),
  footer: ["Examples:", "  meshctl dashboard", "  xdg-open $(meshctl dashboard)", "  meshctl dashboard --control-plane http://10.0.0.5:15014 --console-token s3cret", "", "Exit codes: 0 printed, 1 the console did not answer, 2 usage error."].join("\n"),
  settings: defineSettings({
    controlPlane: { type: "string", default: "http://127.0.0.1:15014", env: "MESHWORK_CONTROL_PLANE", valueName: "URL", description: "Admin port of a control-plane replica (its --admin-port)." },
    consoleToken: { type: "string", env: "MESHWORK_CONSOLE_TOKEN", valueName: "TOKEN", description: "The control plane's --console-token." },
    check: { type: "boolean", default: true, description: "Ask the control plane first; --no-check prints the URL without asking." },
  }),
  run: async (settings, context) => {
    let url: string;
    try {
      url = consoleUrl(settings.controlPlane, settings.consoleToken);
    } catch {
      context.io.writeErr(formatUsageError("dashboard", `--control-plane "${settings.controlPlane}" is not a URL; use http://HOST:PORT (the control plane's admin port)`));
      return 2;
    }
    if (settings.check) {
      const query = settings.consoleToken !== undefined && settings.consoleToken !== "" ? `?token=${encodeURIComponent(settings.consoleToken)}` : "";
      const answer = await callJsonApi(context, controlPlaneTarget(settings.controlPlane), "GET", `/console/api/overview${query}`);
      if (!answer.ok) {
        context.io.writeErr(formatUsageError("dashboard", answer.message));
        return 1;
      }
      if (answer.status !== 200) {
        context.io.writeErr(formatUsageError("dashboard", `${settings.controlPlane}: HTTP ${answer.status}: ${errorOf(answer.body)}`));
        return 1;
      }
    }
    context.io.writeOut(`${url}\n`);
    return 0;
  },
});
