// What the DNS proxy takes from the pod's resolv.conf (resolv.conf(5)): the nameservers it forwards
// unknown names to, and the search domains (Istio answers `<known name>.<first search domain>`
// itself, as a CNAME). Pure.

export interface ResolvConf {
  /** `nameserver` addresses, in file order. */
  readonly nameservers: readonly string[];
  /** The last `search` line's domains (or `domain`'s one when there is no `search`), lowercase, without trailing dots. */
  readonly search: readonly string[];
}

/** Parses resolv.conf text; unknown keywords and malformed lines are ignored, as the C resolver does. */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let search: string[] | undefined;
  let domain: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [keyword, ...values] = line.split(/\s+/);
    if (keyword === "nameserver" && values[0] !== undefined) nameservers.push(values[0]);
    else if (keyword === "search") search = values.map(clean).filter((d) => d !== "");
    else if (keyword === "domain" && values[0] !== undefined) domain = clean(values[0]);
  }
  return { nameservers, search: search ?? (domain === undefined || domain === "" ? [] : [domain]) };
}

function clean(name: string): string {
  return name.toLowerCase().replace(/\.+$/, "");
}
