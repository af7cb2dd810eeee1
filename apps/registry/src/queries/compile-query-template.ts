// Prepared query templates (Consul's agent/consul/prepared_query/template.go): a query whose
// Template.Type is "name_prefix_match" answers every name starting with its Name, with the strings
// of its Service interpolated for the name asked — ${name.full}, ${name.prefix}, ${name.suffix}
// and ${match(N)} (group N of Template.Regexp on the full name, "" when it does not match). Consul
// parses these strings as HIL; the forms above (spaces allowed inside ${ }) and the `$${` escape
// are the whole of what templates use, anything else is refused when the query is written.
import type { PreparedQueryDefinition, PreparedQueryService } from "../registry-contract.ts";
import { compileGoRegexp } from "./compile-go-regexp.ts";

export const NAME_PREFIX_MATCH = "name_prefix_match";

type Part = { readonly kind: "text"; readonly text: string } | { readonly kind: "name"; readonly which: "full" | "prefix" | "suffix" } | { readonly kind: "match"; readonly group: number };

/** A checked template: `render(name)` gives the query to execute for `name` (a new object; the template's query is not changed). */
export interface QueryTemplate<Q extends PreparedQueryDefinition> {
  render(name: string): Q;
}

export type CompiledQueryTemplate<Q extends PreparedQueryDefinition> = { readonly ok: true; readonly template: QueryTemplate<Q> } | { readonly ok: false; readonly message: string };

/**
 * Checks and compiles the template of `query` (its Template.Type must be set). Refusals are
 * Consul's messages ("Bad Template.Type 'x'", "Bad Regexp: …", "Bad format '…' in Service.Tags[0]: …").
 */
export function compileQueryTemplate<Q extends PreparedQueryDefinition>(query: Q): CompiledQueryTemplate<Q> {
  if (query.template.type !== NAME_PREFIX_MATCH) return { ok: false, message: `Bad Template.Type '${query.template.type}': use "${NAME_PREFIX_MATCH}"` };
  const parsed = new Map<string, readonly Part[]>();
  for (const [path, value] of serviceStrings(query.service)) {
    const parts = parseInterpolation(value);
    if (typeof parts === "string") return { ok: false, message: `Bad format '${value}' in Service${path}: ${parts}` };
    parsed.set(path, parts);
  }
  let regexp: RegExp | undefined;
  if (query.template.regexp !== "") {
    const compiled = compileGoRegexp(query.template.regexp);
    if (!compiled.ok) return { ok: false, message: `Bad Regexp: ${compiled.message}` };
    regexp = compiled.regexp;
  }
  const removeEmptyTags = query.template.removeEmptyTags;
  const template: QueryTemplate<Q> = {
    render: (name) => {
      const matches = regexp?.exec(name) ?? [];
      const prefix = query.name;
      const evaluate = (path: string, value: string): string => {
        const parts = parsed.get(path);
        if (parts === undefined) return value;
        return parts
          .map((part) => {
            if (part.kind === "text") return part.text;
            if (part.kind === "match") return matches[part.group] ?? "";
            if (part.which === "full") return name;
            if (part.which === "prefix") return prefix;
            return name.startsWith(prefix) ? name.slice(prefix.length) : name;
          })
          .join("");
      };
      const service = mapServiceStrings(query.service, evaluate);
      return { ...query, service: removeEmptyTags ? { ...service, tags: service.tags.filter((tag) => tag !== "") } : service };
    },
  };
  return { ok: true, template };
}

/** Every string of a service query with its Go field path (Consul's walk order), e.g. ".Tags[1]". */
function serviceStrings(service: PreparedQueryService): [string, string][] {
  return [
    [".Service", service.service],
    ...service.failover.datacenters.map((dc, i): [string, string] => [`.Failover.Datacenters[${i}]`, dc]),
    ...service.ignoreCheckIds.map((id, i): [string, string] => [`.IgnoreCheckIDs[${i}]`, id]),
    [".Near", service.near],
    ...service.tags.map((tag, i): [string, string] => [`.Tags[${i}]`, tag]),
    ...Object.entries(service.nodeMeta).map(([key, value]): [string, string] => [`.NodeMeta[${key}]`, value]),
    ...Object.entries(service.serviceMeta).map(([key, value]): [string, string] => [`.ServiceMeta[${key}]`, value]),
  ];
}

function mapServiceStrings(service: PreparedQueryService, map: (path: string, value: string) => string): PreparedQueryService {
  const values = (prefix: string, record: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(`${prefix}[${key}]`, value)]));
  return {
    service: map(".Service", service.service),
    failover: { nearestN: service.failover.nearestN, datacenters: service.failover.datacenters.map((dc, i) => map(`.Failover.Datacenters[${i}]`, dc)) },
    onlyPassing: service.onlyPassing,
    ignoreCheckIds: service.ignoreCheckIds.map((id, i) => map(`.IgnoreCheckIDs[${i}]`, id)),
    near: map(".Near", service.near),
    tags: service.tags.map((tag, i) => map(`.Tags[${i}]`, tag)),
    nodeMeta: values(".NodeMeta", service.nodeMeta),
    serviceMeta: values(".ServiceMeta", service.serviceMeta),
  };
}

const VARIABLES = "use ${name.full}, ${name.prefix}, ${name.suffix} or ${match(N)}";

/** The parts of one template string, or what is wrong with it. */
export function parseInterpolation(text: string): readonly Part[] | string {
  const parts: Part[] = [];
  let literal = "";
  let at = 0;
  while (at < text.length) {
    if (text.startsWith("$${", at)) {
      literal += "${";
      at += 3;
      continue;
    }
    if (!text.startsWith("${", at)) {
      literal += text[at];
      at++;
      continue;
    }
    const end = text.indexOf("}", at + 2);
    if (end === -1) return `unterminated \${ at offset ${at}: close it with }`;
    const expression = text.slice(at + 2, end).trim();
    const name = /^name\.(full|prefix|suffix)$/.exec(expression);
    const match = /^match\(\s*(\d+)\s*\)$/.exec(expression);
    if (name !== null) {
      if (literal !== "") parts.push({ kind: "text", text: literal });
      parts.push({ kind: "name", which: name[1] as "full" | "prefix" | "suffix" });
    } else if (match !== null) {
      if (literal !== "") parts.push({ kind: "text", text: literal });
      parts.push({ kind: "match", group: Number(match[1]) });
    } else {
      return `unknown expression \${${expression}}: ${VARIABLES}`;
    }
    literal = "";
    at = end + 1;
  }
  if (literal !== "") parts.push({ kind: "text", text: literal });
  return parts;
}
