// `meshctl analyze`: validates mesh resources like `validate`, then checks them against each other
// and, with --services, against a registry snapshot (unknown subsets, hosts, selectors, weights ...).

import { analyzeResources, sortIssues, type MeshCatalog } from "@meshwork/config";
import { defineSettings } from "@meshwork/runtime";
import { EXIT_CODES, EXIT_CODES_HELP } from "../core/exit-codes.ts";
import { parseCatalog } from "../core/parse-catalog.ts";
import { defineCommand, formatUsageError, type CommandContext } from "./command.ts";
import { loadSourceFiles } from "./load-source-files.ts";
import { printReport } from "./print-report.ts";
import { sourceSettings } from "./source-settings.ts";

const analyzeSettings = defineSettings({
  ...sourceSettings,
  services: {
    type: "string",
    valueName: "FILE",
    env: "MESHWORK_SERVICES",
    description:
      "Registry snapshot to check hosts and selectors against: YAML/JSON {services: [{name, namespace, hostname?, ports?, instances?}]}.",
  },
  namespace: {
    type: "string",
    short: "n",
    default: "default",
    env: "MESHWORK_NAMESPACE",
    description: "Namespace of resources that do not set metadata.namespace.",
  },
});

export const analyzeCommand = defineCommand({
  name: "analyze",
  summary: "Validate mesh resources, then check them against each other and the service registry.",
  usage: "meshctl analyze -f FILE|DIR ... [--services FILE] [flags]",
  description: [
    "Runs every check of `meshctl validate`, then analyses the resources that loaded as a whole:",
    "subsets no DestinationRule defines, hosts no service or ServiceEntry provides, weights not adding",
    "up to 100, shadowed routes, conflicting PeerAuthentications, policies selecting nothing, ...",
    "Without --services, hosts and selectors are only checked against the resources given.",
  ].join("\n"),
  footer: [
    "Examples:",
    "  meshctl analyze -f samples/bookinfo/networking/ --services registry-snapshot.yaml",
    "  meshctl analyze -f mesh/ -n bookinfo -o json",
    "",
    EXIT_CODES_HELP,
  ].join("\n"),
  settings: analyzeSettings,
  run: async (settings, context) => {
    const catalog = settings.services === undefined ? undefined : await readCatalog(settings.services, context);
    if (catalog !== undefined && !catalog.ok) {
      context.io.writeErr(formatUsageError("analyze", catalog.message));
      return EXIT_CODES.usage;
    }
    const result = await loadSourceFiles(settings.filename, context);
    if (!result.ok) {
      context.io.writeErr(formatUsageError("analyze", result.message));
      return EXIT_CODES.usage;
    }
    const { resources } = result.loaded;
    const analysis = analyzeResources(resources, {
      defaultNamespace: settings.namespace,
      ...(catalog === undefined ? {} : { catalog: catalog.catalog }),
    });
    context.logger.debug("analyzed", { resources: resources.length, issues: analysis.length, hasCatalog: catalog !== undefined });
    const issues = sortIssues([...result.loaded.issues, ...analysis]);
    return printReport({ issues, resources: resources.length, files: result.files }, settings, context.io);
  },
});

async function readCatalog(
  path: string,
  { io }: CommandContext,
): Promise<{ readonly ok: true; readonly catalog: MeshCatalog } | { readonly ok: false; readonly message: string }> {
  const read = await io.readTextFile(path);
  if (!read.ok) return { ok: false, message: `cannot read "${path}": ${read.reason}. Check the path given to --services.` };
  const parsed = parseCatalog(read.source.text);
  if (!parsed.ok) return { ok: false, message: `--services "${path}": ${parsed.message}` };
  return parsed;
}
