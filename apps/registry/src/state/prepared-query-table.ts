// The prepared queries of the replicated state (Consul's "prepared-queries" table and the checks of
// its preparedQuerySetTxn): RegistryState applies `query-set` / `query-delete` here and deletes a
// session's queries when the session is invalidated. Pure and deterministic like the rest of state/.
import type { PreparedQueryDefinition, StoredPreparedQuery } from "../registry-contract.ts";
import { compileQueryTemplate } from "../queries/compile-query-template.ts";
import { isUuid } from "../queries/resolve-prepared-query.ts";

/** The table's part of a state snapshot. */
export interface PreparedQuerySnapshot {
  readonly queryMaxIndex: number;
  /** Sorted by id. */
  readonly queries: readonly StoredPreparedQuery[];
}

export class PreparedQueryTable {
  private readonly byId: Map<string, StoredPreparedQuery>;
  private maxIndex: number;

  constructor(snapshot: PreparedQuerySnapshot = { queryMaxIndex: 0, queries: [] }) {
    this.byId = new Map(snapshot.queries.map((query) => [query.id, query]));
    this.maxIndex = snapshot.queryMaxIndex;
  }

  /** Index of the last create, update or delete. */
  get index(): number {
    return this.maxIndex;
  }

  /** Every query, by id (Consul lists them in id order). */
  list(): readonly StoredPreparedQuery[] {
    return [...this.byId.values()].sort((a, b) => compare(a.id, b.id));
  }

  get(id: string): StoredPreparedQuery | undefined {
    return this.byId.get(id);
  }

  /**
   * Creates or replaces `query` at `index`; returns the refusal (Consul's wording) and changes
   * nothing when the id is taken (create) or unknown (update), the name is another query's name
   * or id, a catch-all template exists already, the session is unknown or the template is bad.
   */
  set(index: number, query: PreparedQueryDefinition, options: { readonly create: boolean; readonly sessionExists: (id: string) => boolean }): string | undefined {
    const existing = this.byId.get(query.id);
    if (options.create && existing !== undefined) return `prepared query ${JSON.stringify(query.id)} already exists: create it with a new ID`;
    if (!options.create && existing === undefined) return nonExistent(query.id);
    const isTemplate = query.template.type !== "";
    for (const other of this.byId.values()) {
      if (other.id === query.id) continue;
      if (query.name !== "" && other.name.toLowerCase() === query.name.toLowerCase()) return `name '${query.name}' aliases an existing query name: choose another Name, or update that query (PUT /v1/query/${other.id})`;
      if (query.name === "" && isTemplate && other.name === "" && other.template.type !== "") return `a query template with an empty name already exists: there can be one catch-all template; update it (PUT /v1/query/${other.id}) or give this one a Name`;
    }
    if (isUuid(query.name) && this.byId.has(query.name)) return `name '${query.name}' aliases an existing query ID: a Name may not be another query's ID; choose another`;
    if (query.session !== "" && !options.sessionExists(query.session)) return `invalid session ${JSON.stringify(query.session)}: create it first (PUT /v1/session/create)`;
    if (isTemplate) {
      const compiled = compileQueryTemplate(query);
      if (!compiled.ok) return `failed compiling template: ${compiled.message}`;
    }
    this.byId.set(query.id, { ...query, createIndex: existing?.createIndex ?? index, modifyIndex: index });
    this.maxIndex = index;
    return undefined;
  }

  /** Deletes query `id` at `index`; an unknown id is refused (Consul's Apply looks it up first). */
  delete(index: number, id: string): string | undefined {
    if (!this.byId.delete(id)) return nonExistent(id);
    this.maxIndex = index;
    return undefined;
  }

  /** Deletes the queries bound to session `id` (it was invalidated), as Consul's deleteSessionTxn. */
  deleteOfSession(index: number, id: string): void {
    for (const query of this.list()) if (query.session === id) this.delete(index, query.id);
  }

  snapshot(): PreparedQuerySnapshot {
    return { queryMaxIndex: this.maxIndex, queries: this.list() };
  }

  /** The same queries created and modified at `index` (a restore: indexes move forward only). */
  rebased(index: number): PreparedQueryTable {
    return new PreparedQueryTable({ queryMaxIndex: index, queries: this.list().map((query) => ({ ...query, createIndex: index, modifyIndex: index })) });
  }
}

function nonExistent(id: string): string {
  return `Cannot modify non-existent prepared query: '${id}'; list the queries with GET /v1/query`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
