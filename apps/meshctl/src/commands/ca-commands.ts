// `meshctl ca status` and `meshctl ca rotate-root`: the CA's admin API (GET /v1/ca/status, POST
// /v1/ca/rotate-root on the CA's admin port, docs/design/identity.md "Root rotation"). The CA
// takes the rotation's steps itself once every workload acknowledged the new bundle and holds a
// chain under the new root; `--wait` follows it to the end, `--force` skips those checks.

import { defineSettings } from "@meshwork/runtime";
import { formatCaStatus, type CaStatusView } from "../core/format-ca-status.ts";
import { parseDurationSeconds } from "../core/parse-duration-seconds.ts";
import { callJsonApi, errorOf, type JsonAnswer } from "./call-json-api.ts";
import { defineCommand, formatUsageError, type CommandContext } from "./command.ts";

/** Exit codes of the ca commands. */
const CA_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const adminSettings = {
  caAdmin: { type: "string", default: "http://127.0.0.1:15014", env: "MESHWORK_CA_ADMIN", valueName: "URL", description: "The CA's admin listener (its --host and --admin-port)." },
  tokenFile: { type: "string", env: "MESHWORK_CA_ADMIN_TOKEN_FILE", valueName: "FILE", description: "File holding the bearer token of the CA's --admin-token-file." },
  output: { type: "string", short: "o", choices: ["text", "json"], default: "text", env: "MESHWORK_OUTPUT", description: "Output format." },
} as const;

const statusSettings = defineSettings(adminSettings);
const rotateSettings = defineSettings({
  ...adminSettings,
  wait: { type: "boolean", env: "MESHWORK_CA_ROTATE_WAIT", description: "Follow the rotation until the old root is retired." },
  force: {
    type: "boolean",
    env: "MESHWORK_CA_ROTATE_FORCE",
    description: "Switch and retire at once, without waiting for every workload to acknowledge the new root (workloads that have not may fail handshakes).",
  },
  timeout: { type: "string", default: "24h", env: "MESHWORK_CA_ROTATE_TIMEOUT", valueName: "DURATION", description: "With --wait: give up after this long (the rotation goes on in the CA)." },
});

/** One admin API call; reads the token file first. Failures are one sentence naming the fix. */
async function callAdmin(context: CommandContext, settings: { caAdmin: string; tokenFile: string | undefined }, method: "GET" | "POST", path: string, body?: unknown): Promise<JsonAnswer> {
  const headers: Record<string, string> = {};
  if (settings.tokenFile !== undefined) {
    const read = await context.io.readTextFile(settings.tokenFile);
    if (!read.ok) return { ok: false, message: `cannot read --token-file "${read.path}": ${read.reason}` };
    headers["authorization"] = `Bearer ${read.source.text.trim()}`;
  }
  const answer = await callJsonApi(context, { base: settings.caAdmin, flag: "--ca-admin", what: "the CA admin API" }, method, path, {
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (answer.ok && typeof answer.body === "string") return { ok: false, message: `${settings.caAdmin}${path} answered HTTP ${answer.status} with something other than JSON; is --ca-admin the CA's admin port?` };
  return answer;
}

function print(context: CommandContext, output: string, status: CaStatusView): void {
  context.io.writeOut(output === "json" ? `${JSON.stringify(status, null, 2)}\n` : formatCaStatus(status));
}

export const caStatusCommand = defineCommand({
  name: "ca status",
  summary: "Show the CA's trust bundle, active root, intermediate and root rotation progress.",
  usage: "meshctl ca status [--ca-admin URL] [--token-file FILE] [-o text|json]",
  description: [
    "Asks the CA's admin API (GET /v1/ca/status) for the roots in the published trust bundle, the active root,",
    "the intermediate's expiry, the root rotation's phase and what it waits for, and per SPIFFE ID how many",
    "valid SVIDs were requested with the bundle holding the new root and how many chain to the new root.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl ca status", "  meshctl ca status --ca-admin http://127.0.0.1:15014 --token-file /etc/meshwork/ca-admin-token -o json", "", "Exit codes: 0 status printed, 1 the CA refused or cannot be reached, 2 usage error."].join("\n"),
  settings: statusSettings,
  run: async (settings, context) => {
    const answer = await callAdmin(context, settings, "GET", "/v1/ca/status");
    if (!answer.ok) {
      context.io.writeErr(formatUsageError("ca status", answer.message));
      return CA_EXIT.failed;
    }
    if (answer.status !== 200) {
      context.io.writeErr(formatUsageError("ca status", `the CA answered HTTP ${answer.status}: ${errorOf(answer.body)}`));
      return CA_EXIT.failed;
    }
    print(context, settings.output, answer.body as CaStatusView);
    return CA_EXIT.ok;
  },
});

export const caRotateRootCommand = defineCommand({
  name: "ca rotate-root",
  summary: "Rotate the CA's root: publish old + new roots, switch, retire the old one when every workload holds the new chain.",
  usage: "meshctl ca rotate-root [--ca-admin URL] [--token-file FILE] [--wait] [--force]",
  description: [
    "Starts a root rotation (POST /v1/ca/rotate-root). The CA generates a new root and publishes the trust bundle",
    "{old, new}. It re-issues its intermediate under the new root once every valid SVID was requested by a workload",
    "holding that bundle (workloads send the bundle version with each CSR), and retires the old root once every",
    "valid SVID chains to the new root. The CA takes these steps itself; --wait follows them to the end.",
    "--force skips the checks: workloads that do not hold the new root yet fail handshakes until they renew.",
  ].join("\n"),
  footer: [
    "Examples:",
    "  meshctl ca rotate-root --wait",
    "  meshctl ca rotate-root --ca-admin http://10.0.0.5:15014 --token-file ca-admin-token --wait --timeout 2h",
    "  meshctl ca rotate-root --force   # finish now, past unacknowledged workloads",
    "",
    "Exit codes: 0 started (with --wait: finished), 1 the CA refused (e.g. a rotation is under way), cannot be reached, or --wait timed out, 2 usage error.",
  ].join("\n"),
  settings: rotateSettings,
  run: async (settings, context) => {
    const { io } = context;
    const fail = (message: string): number => {
      io.writeErr(formatUsageError("ca rotate-root", message));
      return CA_EXIT.failed;
    };
    const timeout = parseDurationSeconds(settings.timeout);
    if (!timeout.ok) {
      io.writeErr(formatUsageError("ca rotate-root", `invalid value for --timeout: ${timeout.detail}`));
      return CA_EXIT.usage;
    }
    const force = settings.force === true;
    if (force) {
      io.writeErr(
        "meshctl ca rotate-root: WARNING: --force switches to the new root and retires the old one without waiting for every workload to " +
          "acknowledge the new bundle; workloads still holding only the old root, or SVIDs under it, fail mTLS handshakes until they renew.\n",
      );
    }
    const answer = await callAdmin(context, settings, "POST", "/v1/ca/rotate-root", { force });
    if (!answer.ok) return fail(answer.message);
    if (answer.status !== 202) return fail(`the CA answered HTTP ${answer.status}: ${errorOf(answer.body)}`);
    let status = answer.body as CaStatusView;
    const target = status.rotation.completed + (status.rotation.phase === "idle" ? 0 : 1);
    if (settings.wait === true) {
      const deadline = io.now().getTime() + timeout.seconds * 1000;
      let lastPhase = "";
      while (status.rotation.completed < target) {
        if (status.rotation.phase !== lastPhase) {
          lastPhase = status.rotation.phase;
          io.writeErr(`meshctl ca rotate-root: phase ${lastPhase}${status.rotation.waitingFor.length > 0 ? `; waiting for: ${status.rotation.waitingFor.join("; ")}` : ""}\n`);
        }
        if (context.signal.aborted) return fail("interrupted; the rotation goes on in the CA (meshctl ca status)");
        if (io.now().getTime() >= deadline) return fail(`the rotation did not finish within --timeout ${settings.timeout} (phase ${status.rotation.phase}); it goes on in the CA: meshctl ca status`);
        await io.sleep(1000, context.signal);
        const polled = await callAdmin(context, settings, "GET", "/v1/ca/status");
        if (!polled.ok) return fail(polled.message);
        if (polled.status !== 200) return fail(`the CA answered HTTP ${polled.status}: ${errorOf(polled.body)}`);
        status = polled.body as CaStatusView;
      }
    }
    print(context, settings.output, status);
    return CA_EXIT.ok;
  },
});
