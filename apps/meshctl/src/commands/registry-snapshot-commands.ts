// `meshctl registry snapshot save|restore|inspect`: backup and restore of the registry's whole
// state, as `consul snapshot save|restore|inspect` (GET and PUT /v1/snapshot on any registry
// server; apps/registry). The file is the registry's own format (core/read-registry-snapshot.ts),
// not Consul's: snapshots of one cannot be restored into the other.

import { defineSettings } from "@meshwork/runtime";
import { countRegistryState, formatRegistrySnapshot, readRegistrySnapshot, type RegistrySnapshotHeader } from "../core/read-registry-snapshot.ts";
import { defineCommand, formatUsageError, type CommandContext } from "./command.ts";
import { REGISTRY_EXIT, addrSetting } from "./registry-commands.ts";

const EXIT_HELP = "Exit codes: 0 done, 1 the registry refused or cannot be reached (or the file cannot be written), 2 usage error or a file that is not a whole snapshot.";

const saveSettings = defineSettings({
  ...addrSetting,
  stale: { type: "boolean", default: false, description: "Let the server answer from its own state without asking the leader (works without a leader; may be behind)." },
});
const restoreSettings = defineSettings({ ...addrSetting });
const inspectSettings = defineSettings({
  output: { type: "string", short: "o", choices: ["text", "json"], default: "text", env: "MESHWORK_OUTPUT", description: "Output format." },
});

type Answer = { readonly ok: true; readonly status: number; readonly headers: Headers; readonly body: Uint8Array } | { readonly ok: false; readonly message: string };

/** One call to the registry with a binary body either way; failures are one sentence naming the fix. */
async function callRegistry(context: CommandContext, registryAddr: string, method: "GET" | "PUT", path: string, body?: Uint8Array): Promise<Answer> {
  let url: URL;
  try {
    url = new URL(path, registryAddr);
  } catch {
    return { ok: false, message: `--registry-addr "${registryAddr}" is not a URL; use http://HOST:PORT (the registry's HTTP API)` };
  }
  try {
    const response = await context.io.fetch(url.href, {
      method,
      signal: context.signal,
      // slice(): a copy on its own ArrayBuffer, which fetch's BodyInit type asks for.
      ...(body !== undefined ? { body: body.slice(), headers: { "content-type": "application/octet-stream" } } : {}),
    });
    return { ok: true, status: response.status, headers: response.headers, body: new Uint8Array(await response.arrayBuffer()) };
  } catch (error) {
    const inner = (error as { cause?: { code?: string; message?: string } }).cause;
    const cause = inner?.code ?? inner?.message ?? (error as Error).message;
    return { ok: false, message: `cannot reach the registry at ${url.origin} (${cause}); is it running, and is --registry-addr right?` };
  }
}

/** The file's header and state, its SHA-256 checked (WebCrypto); the problem otherwise. */
async function verifiedSnapshot(context: CommandContext, bytes: Uint8Array): Promise<{ readonly ok: true; readonly snapshot: RegistrySnapshotHeader } | { readonly ok: false; readonly problem: string }> {
  const read = readRegistrySnapshot(bytes);
  if (!read.ok) return read;
  const digest = new Uint8Array(await context.io.crypto.subtle.digest("SHA-256", read.snapshot.state.slice()));
  const hex = [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  if (hex !== read.snapshot.sha256) return { ok: false, problem: "the snapshot's SHA-256 does not match its state: the file is damaged; use another copy" };
  return read;
}

/** Reads FILE and checks it; writes the usage error and returns its exit code when it cannot. */
async function readSnapshotFile(context: CommandContext, command: string, path: string): Promise<{ readonly ok: true; readonly snapshot: RegistrySnapshotHeader; readonly bytes: Uint8Array } | { readonly ok: false; readonly code: number }> {
  const read = await context.io.readBinaryFile(path);
  if (!read.ok) {
    context.io.writeErr(formatUsageError(command, `cannot read ${path}: ${read.reason}`));
    return { ok: false, code: REGISTRY_EXIT.usage };
  }
  const checked = await verifiedSnapshot(context, read.bytes);
  if (!checked.ok) {
    context.io.writeErr(formatUsageError(command, `${path}: ${checked.problem}`));
    return { ok: false, code: REGISTRY_EXIT.usage };
  }
  return { ok: true, snapshot: checked.snapshot, bytes: read.bytes };
}

function bodyText(body: Uint8Array): string {
  return new TextDecoder().decode(body).trim();
}

export const registrySnapshotSaveCommand = defineCommand({
  name: "registry snapshot save",
  summary: "Save the registry's whole state (KV, sessions, catalog) to a file (like consul snapshot save).",
  usage: "meshctl registry snapshot save FILE [--registry-addr URL] [--stale]",
  description: [
    "Downloads the state with GET /v1/snapshot and writes it to FILE (replacing it). By default the state is the leader's",
    "(a follower asks the leader first); with --stale, the server answers from its own state. The file records the Raft",
    "index and term it was taken at and a SHA-256 of the state; it is the registry's own format, not Consul's.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl registry snapshot save backup.snap", "  meshctl registry snapshot save backup.snap --registry-addr http://10.0.0.2:8500 --stale", "", EXIT_HELP].join("\n"),
  settings: saveSettings,
  positionals: { min: 1, max: 1 },
  run: async (settings, context, [path = ""]) => {
    const answer = await callRegistry(context, settings.registryAddr, "GET", settings.stale ? "/v1/snapshot?stale" : "/v1/snapshot");
    if (!answer.ok) {
      context.io.writeErr(formatUsageError("registry snapshot save", answer.message));
      return REGISTRY_EXIT.failed;
    }
    if (answer.status !== 200) {
      context.io.writeErr(formatUsageError("registry snapshot save", `the registry answered HTTP ${answer.status}: ${bodyText(answer.body)}`));
      return REGISTRY_EXIT.failed;
    }
    const checked = await verifiedSnapshot(context, answer.body);
    if (!checked.ok) {
      context.io.writeErr(formatUsageError("registry snapshot save", `${settings.registryAddr} answered something that is not a whole snapshot (${checked.problem}); is --registry-addr a registry server's --http-port?`));
      return REGISTRY_EXIT.failed;
    }
    const written = await context.io.writeBinaryFile(path, answer.body);
    if (!written.ok) {
      context.io.writeErr(formatUsageError("registry snapshot save", `cannot write ${path}: ${written.reason}`));
      return REGISTRY_EXIT.failed;
    }
    const { index, term, datacenter } = checked.snapshot;
    context.io.writeOut(`Saved snapshot of datacenter ${datacenter} at index ${index} (term ${term}) to ${path} (${answer.body.length} bytes).\n`);
    return REGISTRY_EXIT.ok;
  },
});

export const registrySnapshotRestoreCommand = defineCommand({
  name: "registry snapshot restore",
  summary: "Replace the registry's whole state with a saved snapshot (like consul snapshot restore).",
  usage: "meshctl registry snapshot restore FILE [--registry-addr URL]",
  description: [
    "Checks FILE, then uploads it with PUT /v1/snapshot: the state goes through Raft, so every server replaces its state",
    "with it and keeps it across restarts. Everything written since the snapshot was saved is gone. Every index moves",
    "forward (restored entries take the restore's index), so blocking queries and watches wake and re-read.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl registry snapshot restore backup.snap", "", EXIT_HELP].join("\n"),
  settings: restoreSettings,
  positionals: { min: 1, max: 1 },
  run: async (settings, context, [path = ""]) => {
    const file = await readSnapshotFile(context, "registry snapshot restore", path);
    if (!file.ok) return file.code;
    const answer = await callRegistry(context, settings.registryAddr, "PUT", "/v1/snapshot", file.bytes);
    if (!answer.ok) {
      context.io.writeErr(formatUsageError("registry snapshot restore", answer.message));
      return REGISTRY_EXIT.failed;
    }
    if (answer.status !== 200) {
      context.io.writeErr(formatUsageError("registry snapshot restore", `the registry answered HTTP ${answer.status}: ${bodyText(answer.body)}`));
      return answer.status === 400 || answer.status === 413 ? REGISTRY_EXIT.usage : REGISTRY_EXIT.failed;
    }
    const at = answer.headers.get("x-consul-index");
    context.io.writeOut(`Restored the snapshot taken at index ${file.snapshot.index} from ${path}${at === null ? "" : `; the registry is at index ${at}`}.\n`);
    return REGISTRY_EXIT.ok;
  },
});

export const registrySnapshotInspectCommand = defineCommand({
  name: "registry snapshot inspect",
  summary: "Show what a registry snapshot file holds: index, term, datacenter and counts (like consul snapshot inspect).",
  usage: "meshctl registry snapshot inspect FILE [-o text|json]",
  description: "Reads FILE (no registry needed), checks its SHA-256 and prints where it was taken and how many KV keys, nodes, service instances, checks, sessions and prepared queries it holds.",
  footer: ["Examples:", "  meshctl registry snapshot inspect backup.snap", "  meshctl registry snapshot inspect backup.snap -o json", "", "Exit codes: 0 done, 2 usage error or a file that is not a whole snapshot."].join("\n"),
  settings: inspectSettings,
  positionals: { min: 1, max: 1 },
  run: async (settings, context, [path = ""]) => {
    const file = await readSnapshotFile(context, "registry snapshot inspect", path);
    if (!file.ok) return file.code;
    const counts = countRegistryState(file.snapshot.state);
    if (counts === undefined) {
      context.io.writeErr(formatUsageError("registry snapshot inspect", `${path}: its state is not a registry state this meshctl can read; inspect it with the meshctl of the registry version that saved it`));
      return REGISTRY_EXIT.usage;
    }
    const { index, term, datacenter, state } = file.snapshot;
    context.io.writeOut(settings.output === "json" ? `${JSON.stringify({ index, term, datacenter, stateBytes: state.length, ...counts }, null, 2)}\n` : formatRegistrySnapshot(file.snapshot, counts));
    return REGISTRY_EXIT.ok;
  },
});
