// Which name-table entry a DNS question's name is, as Istio's agent looks it up (pkg/dns/client
// LookupTable.lookupHost and lookupHostExact): the exact name, else the most specific wildcard host
// covering it, else — for the name a resolver builds by appending the pod's first search domain
// (`reviews.default.svc.cluster.local.default.svc.cluster.local` with ndots:5) — the name without
// that domain, answered as a CNAME to it. Pure.
import type { NameEntry, NameTable } from "./build-name-table.ts";

export type NameLookup =
  | {
      readonly type: "known";
      readonly entry: NameEntry;
      /** The name the address records are for: the question's name, or the CNAME's target. */
      readonly owner: string;
      /** Set when the question's name was the target with the first search domain appended. */
      readonly cname?: { readonly name: string; readonly target: string };
    }
  | { readonly type: "unknown" };

const unknown: NameLookup = Object.freeze({ type: "unknown" });

/** Looks `name` up (any case, with or without the trailing dot); `searchDomains` as in resolv.conf's `search`. */
export function lookupName(table: NameTable, name: string, searchDomains: readonly string[]): NameLookup {
  const question = normalize(name);
  const direct = find(table, question);
  if (direct !== undefined) return { type: "known", entry: direct, owner: question };
  // Istio expands the first search namespace only: a resolver that found nothing there goes on to
  // the next domain, which upstream then answers as it always did.
  const first = searchDomains[0] === undefined ? "" : normalize(searchDomains[0]);
  if (first !== "" && question.length > first.length + 1 && question.endsWith(`.${first}`)) {
    const target = question.slice(0, question.length - first.length - 1);
    const entry = find(table, target);
    if (entry !== undefined) return { type: "known", entry, owner: target, cname: { name: question, target } };
  }
  return unknown;
}

function find(table: NameTable, name: string): NameEntry | undefined {
  const exact = table.names.get(name);
  if (exact !== undefined) return exact;
  for (const wildcard of table.wildcards) {
    // `*.example.com` covers `a.example.com` and `a.b.example.com`, not `example.com` itself.
    if (name.length > wildcard.suffix.length && name.endsWith(wildcard.suffix)) return wildcard.entry;
  }
  return undefined;
}

function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}
