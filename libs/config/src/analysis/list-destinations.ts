// Every place a VirtualService sends traffic to — HTTP route destinations, mirrors, TLS and TCP route
// destinations — with the field path of each, so analyzers check them all the same way.
import type { FieldPath } from "../field-issue.ts";
import type { Destination, VirtualServiceSpec } from "../schema/virtual-service.ts";

export interface DestinationUse {
  readonly destination: Destination;
  /** Path of the Destination object, e.g. ["spec", "http", 0, "route", 1, "destination"]. */
  readonly path: FieldPath;
  /** Path of the entry that holds it, for messages: ["spec", "http", 0, "route", 1] or ["spec", "http", 0, "mirror"]. */
  readonly entryPath: FieldPath;
  readonly protocol: "http" | "tls" | "tcp";
  readonly isMirror: boolean;
}

/** Destinations of a VirtualService in document order (routes of each rule, then its mirrors). */
export function listDestinations(spec: VirtualServiceSpec): DestinationUse[] {
  const uses: DestinationUse[] = [];
  for (const [i, rule] of (spec.http ?? []).entries()) {
    for (const [j, d] of (rule.route ?? []).entries()) {
      const entryPath = ["spec", "http", i, "route", j];
      uses.push({ destination: d.destination, path: [...entryPath, "destination"], entryPath, protocol: "http", isMirror: false });
    }
    if (rule.mirror) {
      const entryPath = ["spec", "http", i, "mirror"];
      uses.push({ destination: rule.mirror, path: entryPath, entryPath, protocol: "http", isMirror: true });
    }
    for (const [j, m] of (rule.mirrors ?? []).entries()) {
      const entryPath = ["spec", "http", i, "mirrors", j];
      uses.push({ destination: m.destination, path: [...entryPath, "destination"], entryPath, protocol: "http", isMirror: true });
    }
  }
  for (const protocol of ["tls", "tcp"] as const) {
    for (const [i, rule] of (spec[protocol] ?? []).entries()) {
      for (const [j, d] of (rule.route ?? []).entries()) {
        const entryPath = ["spec", protocol, i, "route", j];
        uses.push({ destination: d.destination, path: [...entryPath, "destination"], entryPath, protocol, isMirror: false });
      }
    }
  }
  return uses;
}
