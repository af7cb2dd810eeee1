// Path templates of AuthorizationPolicy `paths` (Istio 1.20+): `{*}` matches one path segment and
// `{**}` any number of them, compiled as Envoy's uri_template matcher does.

/** Whether a `paths` value is a template rather than an exact/prefix/suffix/presence match. */
export function isPathTemplate(value: string): boolean {
  return value.includes("{*}") || value.includes("{**}");
}

// Envoy uri_template: a `*` segment is one or more of these characters, `**` any run of them and `/`.
const segmentChars = "a-zA-Z0-9\\-._~%!$&'()+,;:@=";

/**
 * Compiles a template into an anchored RegExp as Envoy does ("/" + segments joined by "/"), or an
 * error naming the problem. Istio's rules: an operator must be a whole segment, no `*`, `{`, `}`
 * outside an operator, and no operator after `{**}` (literal segments may follow it).
 */
export function compilePathTemplate(template: string): RegExp | { readonly error: string } {
  if (!template.startsWith("/")) return { error: `path template "${template}" must start with "/"` };
  const segments = template.slice(1).split("/");
  let source = "";
  let sawAny = false;
  for (const segment of segments) {
    if (segment === "{**}" || segment === "{*}") {
      if (sawAny) return { error: `path template "${template}": {**} must be the last operator` };
      sawAny = segment === "{**}";
      source += segment === "{**}" ? `/[${segmentChars}/]*` : `/[${segmentChars}]+`;
    } else if (/[*{}]/.test(segment)) {
      return { error: `path template "${template}": only {*} or {**} may stand in a segment with "*", "{" or "}"` };
    } else {
      source += `/${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`;
    }
  }
  return new RegExp(`^${source}$`);
}
