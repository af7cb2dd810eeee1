// `meshctl apply`, `get` and `delete`: mesh config through the control plane's config API
// (/api/v1/config on its admin port, docs/design/config-push.md). apply validates locally first
// (file, line and column in every message), then the control plane validates and analyzes the
// whole request against what is serving and writes it to the registry KV, all or nothing.
import { encodeValue, formatIssue, loadResources, sortIssues, yamlKindOf, type ConfigIssue } from "@meshwork/config";
import { defineSettings } from "@meshwork/runtime";
import { stringify } from "yaml";
import { resolveKind } from "../core/resolve-kind.ts";
import { callJsonApi, errorOf, type ApiTarget } from "./call-json-api.ts";
import { defineCommand, formatUsageError, type CommandContext } from "./command.ts";
import { printReport } from "./print-report.ts";

/** Exit codes of apply, get and delete. */
const CONFIG_EXIT = { ok: 0, failed: 1, usage: 2 } as const;
const EXIT_HELP = "Exit codes: 0 done, 1 rejected (nothing written), not found, or the control plane cannot be reached, 2 usage error.";

export const controlPlaneSetting = {
  controlPlane: {
    type: "string",
    default: "http://127.0.0.1:15014",
    env: "MESHWORK_CONTROL_PLANE",
    valueName: "URL",
    description: "Admin port of any control-plane replica (its --admin-port).",
  },
} as const;

export function controlPlaneTarget(base: string): ApiTarget {
  return { base, flag: "--control-plane", what: "the control plane's admin port" };
}

const applySettings = defineSettings({
  ...controlPlaneSetting,
  filename: { type: "list", short: "f", valueName: "FILE|DIR", required: true, description: 'Resources to apply: a YAML/JSON file, a directory (recursively), or "-" for stdin.' },
  namespace: { type: "string", short: "n", env: "MESHWORK_NAMESPACE", valueName: "NS", description: "Namespace of resources that name none (default: the control plane's --default-namespace)." },
  dryRun: { type: "boolean", description: "Validate and analyze on the control plane without writing." },
  output: { type: "string", short: "o", choices: ["human", "json"], default: "human", env: "MESHWORK_OUTPUT", valueName: "FORMAT", description: "Output format." },
  color: { type: "string", choices: ["auto", "always", "never"], default: "auto", env: "MESHWORK_COLOR", valueName: "WHEN", description: "Colour local validation findings." },
});

interface ApplyAnswer {
  readonly dryRun: boolean;
  readonly applied: readonly { kind: string; namespace: string; name: string }[];
  readonly warnings: readonly string[];
}

export const applyCommand = defineCommand({
  name: "apply",
  summary: "Apply mesh resources through the control plane (validated first; all or nothing).",
  usage: "meshctl apply -f FILE|DIR ... [-n NS] [--dry-run] [--control-plane URL]",
  description: [
    "Validates the resources locally (as `meshctl validate`), then sends them in one request to the control plane,",
    "which validates and analyzes them together with the config already serving and writes them to the registry.",
    "If anything is rejected, nothing is written and the serving config is unchanged.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl apply -f samples/bookinfo/networking/virtual-service-all-v1.yaml", "  meshctl apply -f rules/ -n shop --dry-run", "", EXIT_HELP].join("\n"),
  settings: applySettings,
  run: async (settings, context) => {
    const { io } = context;
    const read = await io.readSources(settings.filename);
    if (!read.ok) {
      io.writeErr(formatUsageError("apply", `cannot read "${read.path}": ${read.reason}. Check the path given to -f.`));
      return CONFIG_EXIT.usage;
    }
    const loaded = loadResources(read.sources);
    if (loaded.issues.some((i) => i.severity === "error")) {
      printReport({ issues: sortIssues(loaded.issues), resources: loaded.resources.length, files: read.sources.length }, settings, io);
      io.writeErr(formatUsageError("apply", "rejected locally: fix the errors above; nothing was sent"));
      return CONFIG_EXIT.failed;
    }
    if (loaded.resources.length === 0) {
      io.writeErr(formatUsageError("apply", "the files hold no mesh resource; nothing was sent"));
      return CONFIG_EXIT.failed;
    }
    const query = new URLSearchParams();
    if (settings.namespace !== undefined) query.set("namespace", settings.namespace);
    if (settings.dryRun === true) query.set("dryRun", "true");
    const body = read.sources.map((s) => s.text).join("\n---\n");
    const answer = await callJsonApi(context, controlPlaneTarget(settings.controlPlane), "POST", `/api/v1/config${query.size > 0 ? `?${query}` : ""}`, { body, contentType: "application/yaml" });
    if (!answer.ok) {
      io.writeErr(formatUsageError("apply", answer.message));
      return CONFIG_EXIT.failed;
    }
    if (answer.status !== 200) {
      const messages = (answer.body as { messages?: unknown }).messages;
      const detail = Array.isArray(messages) ? `\n${messages.map((m) => `  ${String(m)}`).join("\n")}` : ` ${errorOf(answer.body)}`;
      io.writeErr(formatUsageError("apply", `the control plane rejected the request (HTTP ${answer.status}); nothing was written:${detail}`));
      return CONFIG_EXIT.failed;
    }
    const applied = answer.body as ApplyAnswer;
    if (settings.output === "json") io.writeOut(`${JSON.stringify(applied, null, 2)}\n`);
    else {
      const verb = applied.dryRun ? "valid (dry run, not written)" : "applied";
      io.writeOut(applied.applied.map((r) => `${r.kind} ${r.namespace}/${r.name} ${verb}\n`).join(""));
      for (const warning of applied.warnings) io.writeErr(`warning: ${warning}\n`);
    }
    return CONFIG_EXIT.ok;
  },
});

const getSettings = defineSettings({
  ...controlPlaneSetting,
  namespace: { type: "string", short: "n", env: "MESHWORK_NAMESPACE", valueName: "NS", description: "Only this namespace (default: every namespace)." },
  output: { type: "string", short: "o", choices: ["table", "yaml", "json"], default: "table", env: "MESHWORK_OUTPUT", valueName: "FORMAT", description: "table, or the resources as YAML (as written, durations like 10s) or JSON." },
});

interface ServedResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: unknown;
}

export const getCommand = defineCommand({
  name: "get",
  summary: "List the mesh resources the control plane serves, or print some as YAML/JSON.",
  usage: "meshctl get [KIND [NAME]] [-n NS] [-o table|yaml|json] [--control-plane URL]",
  description: "Reads the serving config (GET /api/v1/config). KIND is a kind, its plural or short name (vs, dr, gw, se, we, pa, ra, ap).",
  footer: ["Examples:", "  meshctl get", "  meshctl get vs -n default", "  meshctl get virtualservice reviews -n default -o yaml", "", EXIT_HELP].join("\n"),
  settings: getSettings,
  positionals: { min: 0, max: 2 },
  run: async (settings, context, args) => {
    const { io } = context;
    const [kindName, name] = args;
    let path = "/api/v1/config";
    let specSchemaOf = (kind: string) => resolveKind(kind);
    if (kindName !== undefined) {
      const kind = resolveKind(kindName);
      if (!kind.ok) {
        io.writeErr(formatUsageError("get", kind.message));
        return CONFIG_EXIT.usage;
      }
      path += `/${kind.kind.kind}`;
      if (name !== undefined && settings.namespace === undefined) {
        io.writeErr(formatUsageError("get", `a NAME needs its namespace: add -n NS (e.g. meshctl get ${kindName} ${name} -n default)`));
        return CONFIG_EXIT.usage;
      }
      if (settings.namespace !== undefined) path += `/${encodeURIComponent(settings.namespace)}`;
      if (name !== undefined) path += `/${encodeURIComponent(name)}`;
      specSchemaOf = () => kind;
    }
    const answer = await callJsonApi(context, controlPlaneTarget(settings.controlPlane), "GET", path);
    if (!answer.ok || answer.status !== 200) {
      io.writeErr(formatUsageError("get", answer.ok ? `HTTP ${answer.status}: ${errorOf(answer.body)}` : answer.message));
      return CONFIG_EXIT.failed;
    }
    const { revision, resources: all } = answer.body as { revision: string; resources: readonly ServedResource[] };
    const resources = all.filter((r) => settings.namespace === undefined || r.metadata.namespace === settings.namespace);
    if (settings.output === "json") io.writeOut(`${JSON.stringify({ revision, resources }, null, 2)}\n`);
    else if (settings.output === "yaml") {
      const documents = resources.map((r) => {
        const kind = specSchemaOf(r.kind);
        // As users write it: the Gateway API's Gateway is `Gateway`, not Meshwork's `KubernetesGateway`.
        return stringify({ apiVersion: r.apiVersion, kind: kind.ok ? yamlKindOf(kind.kind) : r.kind, metadata: r.metadata, spec: kind.ok ? encodeValue(kind.kind.spec, r.spec) : r.spec });
      });
      io.writeOut(documents.join("---\n"));
    } else io.writeOut(formatResourceTable(resources));
    return CONFIG_EXIT.ok;
  },
});

function formatResourceTable(resources: readonly ServedResource[]): string {
  if (resources.length === 0) return "No resources found.\n";
  const rows = [["KIND", "NAMESPACE", "NAME"], ...resources.map((r) => [r.kind, r.metadata.namespace ?? "", r.metadata.name])];
  const widths = [0, 1].map((i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  return rows.map((row) => `${(row[0] as string).padEnd(widths[0] as number)}  ${(row[1] as string).padEnd(widths[1] as number)}  ${row[2] as string}\n`).join("");
}

const deleteSettings = defineSettings({
  ...controlPlaneSetting,
  namespace: { type: "string", short: "n", default: "default", env: "MESHWORK_NAMESPACE", valueName: "NS", description: "Namespace of the resource." },
  filename: { type: "list", short: "f", valueName: "FILE|DIR", description: "Delete the resources these files define (instead of KIND NAME)." },
});

export const deleteCommand = defineCommand({
  name: "delete",
  summary: "Delete mesh resources from the registry through the control plane.",
  usage: "meshctl delete KIND NAME [-n NS] | meshctl delete -f FILE|DIR ... [--control-plane URL]",
  description: "Removes resources from the config the control plane serves (DELETE /api/v1/config/KIND/NS/NAME).",
  footer: ["Examples:", "  meshctl delete vs reviews -n default", "  meshctl delete -f samples/bookinfo/networking/", "", EXIT_HELP].join("\n"),
  settings: deleteSettings,
  positionals: { min: 0, max: 2 },
  run: async (settings, context, args) => {
    const { io } = context;
    const targets: { kind: string; namespace: string; name: string }[] = [];
    if (settings.filename !== undefined && settings.filename.length > 0) {
      if (args.length > 0) {
        io.writeErr(formatUsageError("delete", "give either KIND NAME or -f, not both"));
        return CONFIG_EXIT.usage;
      }
      const read = await io.readSources(settings.filename);
      if (!read.ok) {
        io.writeErr(formatUsageError("delete", `cannot read "${read.path}": ${read.reason}. Check the path given to -f.`));
        return CONFIG_EXIT.usage;
      }
      const loaded = loadResources(read.sources);
      const errors: ConfigIssue[] = loaded.issues.filter((i) => i.severity === "error");
      if (errors.length > 0) {
        io.writeErr(formatUsageError("delete", `cannot tell which resources the files define:\n${errors.map((i) => `  ${formatIssue(i)}`).join("\n")}`));
        return CONFIG_EXIT.usage;
      }
      for (const r of loaded.resources) targets.push({ kind: r.kind, namespace: r.metadata.namespace ?? settings.namespace, name: r.metadata.name });
    } else {
      const [kindName, name] = args;
      if (kindName === undefined || name === undefined) {
        io.writeErr(formatUsageError("delete", "say what to delete: KIND NAME (e.g. meshctl delete vs reviews -n default) or -f FILE"));
        return CONFIG_EXIT.usage;
      }
      const kind = resolveKind(kindName);
      if (!kind.ok) {
        io.writeErr(formatUsageError("delete", kind.message));
        return CONFIG_EXIT.usage;
      }
      targets.push({ kind: kind.kind.kind, namespace: settings.namespace, name });
    }
    let failed = false;
    for (const t of targets) {
      const answer = await deleteOne(context, settings.controlPlane, t);
      if (answer === undefined) io.writeOut(`${t.kind} ${t.namespace}/${t.name} deleted\n`);
      else {
        failed = true;
        io.writeErr(formatUsageError("delete", answer));
      }
    }
    return failed ? CONFIG_EXIT.failed : CONFIG_EXIT.ok;
  },
});

/** Deletes one resource; undefined when done, else why not. */
async function deleteOne(context: CommandContext, controlPlane: string, t: { kind: string; namespace: string; name: string }): Promise<string | undefined> {
  const path = `/api/v1/config/${t.kind}/${encodeURIComponent(t.namespace)}/${encodeURIComponent(t.name)}`;
  const answer = await callJsonApi(context, controlPlaneTarget(controlPlane), "DELETE", path);
  if (!answer.ok) return answer.message;
  return answer.status === 200 ? undefined : `${t.kind} ${t.namespace}/${t.name}: HTTP ${answer.status}: ${errorOf(answer.body)}`;
}
