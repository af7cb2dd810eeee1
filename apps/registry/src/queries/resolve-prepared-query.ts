// Which prepared query an execute / explain / DNS lookup of `idOrName` means (Consul's
// state.PreparedQueryResolve): an id (a UUID) first, then an exact name, then the template whose
// name is the longest prefix of it — names compared without case — rendered for the name asked.
import type { StoredPreparedQuery } from "../registry-contract.ts";
import { compileQueryTemplate } from "./compile-query-template.ts";

export type ResolvedQuery =
  | { readonly ok: true; readonly query: StoredPreparedQuery }
  | { readonly ok: false; readonly reason: "not-found" | "template-by-id" | "bad-template"; readonly message: string };

const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;

/** Whether `text` has the shape of a UUID (Consul only looks ids up for those). */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/** Consul's answer (404, "Query not found") for a name or id no query has. */
export const QUERY_NOT_FOUND = "Query not found";

/** Resolves `idOrName` among `queries`; a template comes back rendered for `idOrName`. */
export function resolvePreparedQuery(queries: readonly StoredPreparedQuery[], idOrName: string): ResolvedQuery {
  const notFound: ResolvedQuery = { ok: false, reason: "not-found", message: QUERY_NOT_FOUND };
  if (idOrName === "") return notFound;
  if (isUuid(idOrName)) {
    const byId = queries.find((query) => query.id === idOrName);
    if (byId !== undefined) {
      if (byId.template.type !== "") return { ok: false, reason: "template-by-id", message: "prepared query templates can only be resolved up by name, not by ID: execute it with a name that starts with its Name" };
      return { ok: true, query: byId };
    }
  }
  const lower = idOrName.toLowerCase();
  const byName = queries.find((query) => query.name !== "" && query.name.toLowerCase() === lower);
  if (byName !== undefined) return byName.template.type === "" ? { ok: true, query: byName } : render(byName, idOrName);
  let longest: StoredPreparedQuery | undefined;
  for (const query of queries) {
    if (query.template.type === "" || !lower.startsWith(query.name.toLowerCase())) continue;
    if (longest === undefined || query.name.length > longest.name.length) longest = query;
  }
  return longest === undefined ? notFound : render(longest, idOrName);
}

function render(query: StoredPreparedQuery, name: string): ResolvedQuery {
  const compiled = compileQueryTemplate(query);
  // The state only keeps templates that compile; this is for one a newer build wrote.
  if (!compiled.ok) return { ok: false, reason: "bad-template", message: `failed compiling template: ${compiled.message}` };
  return { ok: true, query: compiled.template.render(name) };
}
