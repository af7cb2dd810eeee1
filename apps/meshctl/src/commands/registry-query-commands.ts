// `meshctl registry query list|create|execute|delete`: the registry's prepared queries through its
// Consul HTTP API (/v1/query; apps/registry's README, "Prepared queries"). Any server will do:
// writes go through Raft from whichever server takes them.

import { defineSettings } from "@meshwork/runtime";
import { formatPreparedQueries, formatQueryExecution, parsePreparedQueries, parseQueryExecution } from "../core/format-prepared-queries.ts";
import { defineCommand, formatUsageError } from "./command.ts";
import { REGISTRY_EXIT, addrSetting, callRegistry, registryRefused } from "./registry-commands.ts";

const EXIT_HELP = "Exit codes: 0 done, 1 the registry refused (or has no such query) or cannot be reached, 2 usage error.";
const outputSetting = { output: { type: "string", short: "o", choices: ["text", "json"], default: "text", env: "MESHWORK_OUTPUT", description: "Output format." } } as const;

const listSettings = defineSettings({ ...addrSetting, ...outputSetting });
const createSettings = defineSettings({
  ...addrSetting,
  name: { type: "string", valueName: "NAME", description: "The query's name (execute it by name, and as NAME.query.consul over DNS). Without it the query needs --session." },
  service: { type: "string", required: true, valueName: "SERVICE", description: "The service to select (in a template, may use ${name.full}, ${name.suffix}, ${match(N)})." },
  tag: { type: "list", valueName: "TAG", description: "A tag every instance must have; !TAG: one none may have." },
  onlyPassing: { type: "boolean", description: "Only instances whose checks all pass (default: warning passes too)." },
  near: { type: "string", valueName: "NODE", description: "The node whose instance goes first (_agent: the server answering)." },
  session: { type: "string", valueName: "ID", description: "A session: the query is deleted when the session is invalidated." },
  dnsTtl: { type: "string", valueName: "DURATION", description: "TTL of its DNS answers, a Go duration such as 10s." },
  template: { type: "boolean", description: "Make it a name_prefix_match template: it answers every name starting with --name." },
  regexp: { type: "string", valueName: "RE2", description: "With --template: a regular expression whose groups ${match(N)} gives (on the full name)." },
});
const executeSettings = defineSettings({
  ...addrSetting,
  ...outputSetting,
  limit: { type: "number", integer: true, default: 0, valueName: "N", description: "At most N instances (0: all)." },
  near: { type: "string", valueName: "NODE", description: "The node whose instance goes first (_agent: the server answering); default the query's Near." },
});
const deleteSettings = defineSettings({ ...addrSetting });

export const registryQueryListCommand = defineCommand({
  name: "registry query list",
  summary: "List the registry's prepared queries (GET /v1/query).",
  usage: "meshctl registry query list [--registry-addr URL] [-o text|json]",
  description: "Lists every prepared query: id, name, service, static or template, tag filter, OnlyPassing and DNS TTL. -o json prints the registry's answer (Consul's JSON).",
  footer: ["Examples:", "  meshctl registry query list", "  meshctl registry query list -o json", "", EXIT_HELP].join("\n"),
  settings: listSettings,
  run: async (settings, context) => {
    const answer = await callRegistry(context, settings.registryAddr, "GET", "/v1/query");
    if (!answer.ok) {
      context.io.writeErr(formatUsageError("registry query list", answer.message));
      return REGISTRY_EXIT.failed;
    }
    if (answer.status !== 200) return registryRefused(context, "registry query list", answer);
    const rows = parsePreparedQueries(answer.body);
    if (rows === undefined) {
      context.io.writeErr(formatUsageError("registry query list", `${settings.registryAddr} answered something that is not a list of prepared queries; is --registry-addr a registry server's --http-port?`));
      return REGISTRY_EXIT.failed;
    }
    context.io.writeOut(settings.output === "json" ? `${JSON.stringify(answer.body, null, 2)}\n` : formatPreparedQueries(rows));
    return REGISTRY_EXIT.ok;
  },
});

export const registryQueryCreateCommand = defineCommand({
  name: "registry query create",
  summary: "Create a prepared query (POST /v1/query) and print its id.",
  usage: "meshctl registry query create --service SERVICE [--name NAME] [--tag TAG]... [--only-passing] [--near NODE] [--session ID] [--dns-ttl DURATION] [--template [--regexp RE2]]",
  description: [
    "Creates a prepared query as Consul's POST /v1/query does; the registry checks it as Consul does (a name is unique,",
    "a query without a name needs a session, a template must compile) and keeps it in its replicated state.",
  ].join("\n"),
  footer: [
    "Examples:",
    "  meshctl registry query create --name web-stable --service web --tag '!canary' --only-passing --dns-ttl 10s",
    "  meshctl registry query create --name geo-db- --template --regexp '^geo-db-(.+)$' --service 'db-${match(1)}'",
    "",
    EXIT_HELP,
  ].join("\n"),
  settings: createSettings,
  run: async (settings, context) => {
    if (settings.regexp !== undefined && !settings.template) {
      context.io.writeErr(formatUsageError("registry query create", "--regexp needs --template: only templates match names against a regular expression"));
      return REGISTRY_EXIT.usage;
    }
    const body = {
      Name: settings.name ?? "",
      Session: settings.session ?? "",
      ...(settings.template ? { Template: { Type: "name_prefix_match", Regexp: settings.regexp ?? "" } } : {}),
      Service: { Service: settings.service, Tags: settings.tag, OnlyPassing: settings.onlyPassing, Near: settings.near ?? "" },
      DNS: { TTL: settings.dnsTtl ?? "" },
    };
    const answer = await callRegistry(context, settings.registryAddr, "POST", "/v1/query", body);
    if (!answer.ok) {
      context.io.writeErr(formatUsageError("registry query create", answer.message));
      return REGISTRY_EXIT.failed;
    }
    if (answer.status !== 200) return registryRefused(context, "registry query create", answer);
    const id = (answer.body as { ID?: unknown } | null)?.ID;
    context.io.writeOut(`Created prepared query ${settings.name === undefined || settings.name === "" ? "" : `${settings.name} `}with ID ${String(id)}.\n`);
    return REGISTRY_EXIT.ok;
  },
});

export const registryQueryExecuteCommand = defineCommand({
  name: "registry query execute",
  summary: "Execute a prepared query by id or name (GET /v1/query/:id/execute) and list the instances it selects.",
  usage: "meshctl registry query execute ID_OR_NAME [--limit N] [--near NODE] [--registry-addr URL] [-o text|json]",
  description: "Runs the query (a template by a name it answers) on the registry's catalog and prints the healthy instances it selects. -o json prints Consul's answer.",
  footer: ["Examples:", "  meshctl registry query execute web-stable", "  meshctl registry query execute geo-db-customers --limit 1 -o json", "", EXIT_HELP].join("\n"),
  settings: executeSettings,
  positionals: { min: 1, max: 1 },
  run: async (settings, context, [idOrName = ""]) => {
    const params = new URLSearchParams();
    if (settings.limit > 0) params.set("limit", String(settings.limit));
    if (settings.near !== undefined) params.set("near", settings.near);
    const query = params.toString();
    const answer = await callRegistry(context, settings.registryAddr, "GET", `/v1/query/${encodeURIComponent(idOrName)}/execute${query === "" ? "" : `?${query}`}`);
    if (!answer.ok) {
      context.io.writeErr(formatUsageError("registry query execute", answer.message));
      return REGISTRY_EXIT.failed;
    }
    if (answer.status !== 200) return registryRefused(context, "registry query execute", answer);
    const view = parseQueryExecution(answer.body);
    if (view === undefined) {
      context.io.writeErr(formatUsageError("registry query execute", `${settings.registryAddr} answered something that is not a query execution; is --registry-addr a registry server's --http-port?`));
      return REGISTRY_EXIT.failed;
    }
    context.io.writeOut(settings.output === "json" ? `${JSON.stringify(answer.body, null, 2)}\n` : formatQueryExecution(view));
    return REGISTRY_EXIT.ok;
  },
});

export const registryQueryDeleteCommand = defineCommand({
  name: "registry query delete",
  summary: "Delete a prepared query by id (DELETE /v1/query/:id).",
  usage: "meshctl registry query delete ID [--registry-addr URL]",
  description: "Deletes the prepared query with this id (see `meshctl registry query list`).",
  footer: ["Examples:", "  meshctl registry query delete 8f246b77-f3e1-4f88-9b48-8ec93abf3e05", "", EXIT_HELP].join("\n"),
  settings: deleteSettings,
  positionals: { min: 1, max: 1 },
  run: async (settings, context, [id = ""]) => {
    const answer = await callRegistry(context, settings.registryAddr, "DELETE", `/v1/query/${encodeURIComponent(id)}`);
    if (!answer.ok) {
      context.io.writeErr(formatUsageError("registry query delete", answer.message));
      return REGISTRY_EXIT.failed;
    }
    if (answer.status !== 200) return registryRefused(context, "registry query delete", answer);
    context.io.writeOut(`Deleted prepared query ${id}.\n`);
    return REGISTRY_EXIT.ok;
  },
});
