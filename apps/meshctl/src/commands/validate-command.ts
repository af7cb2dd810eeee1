// `meshctl validate`: checks mesh resources against their schemas and Istio's validation rules,
// one resource at a time, and reports every problem with file, line, column, resource and field.

import { sortIssues } from "@meshwork/config";
import { EXIT_CODES, EXIT_CODES_HELP } from "../core/exit-codes.ts";
import { defineCommand, formatUsageError } from "./command.ts";
import { loadSourceFiles } from "./load-source-files.ts";
import { printReport } from "./print-report.ts";
import { sourceSettings } from "./source-settings.ts";

export const validateCommand = defineCommand({
  name: "validate",
  summary: "Check mesh resources in YAML/JSON files against the Istio API.",
  usage: "meshctl validate -f FILE|DIR ... [flags]",
  description: [
    "Checks VirtualService, DestinationRule, Gateway, ServiceEntry, Sidecar, WorkloadEntry, PeerAuthentication,",
    "RequestAuthentication, AuthorizationPolicy and Telemetry resources as `kubectl apply` would send them to Istio, and",
    "Meshwork's own HTTPLocalRateLimitPolicy (policy.meshwork.io/v1alpha1):",
    "schema, types and Istio's validation rules. Each problem names file, line, column, resource and field.",
    "A resource with an error is rejected whole. For checks across resources, use `meshctl analyze`.",
  ].join("\n"),
  footer: [
    "Examples:",
    "  meshctl validate -f samples/bookinfo/networking/",
    "  meshctl validate -f reviews-vs.yaml -f reviews-dr.yaml -o json",
    "  kubectl get virtualservices -A -o yaml | meshctl validate -f -",
    "",
    EXIT_CODES_HELP,
  ].join("\n"),
  settings: sourceSettings,
  run: async (settings, context) => {
    const result = await loadSourceFiles(settings.filename, context);
    if (!result.ok) {
      context.io.writeErr(formatUsageError("validate", result.message));
      return EXIT_CODES.usage;
    }
    const report = { issues: sortIssues(result.loaded.issues), resources: result.loaded.resources.length, files: result.files };
    return printReport(report, settings, context.io);
  },
});
