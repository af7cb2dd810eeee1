// Istio StringMatch compiled once into a matcher the request path can test without allocating:
// exact and prefix compare strings, regex is an RE2 pattern translated to a JS RegExp anchored at
// both ends (Envoy's safe_regex must match the whole value).

/** A compiled string condition; `present` matches any value (Istio's empty match `{}`). */
export type StringMatcher =
  | { readonly type: "exact"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly type: "prefix"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly type: "regex"; readonly source: string; readonly regex: RegExp }
  | { readonly type: "present" };

/** Istio StringMatch as decoded by @meshwork/config. */
export interface StringMatchSpec {
  readonly exact?: string | undefined;
  readonly prefix?: string | undefined;
  readonly regex?: string | undefined;
}

/**
 * Compiles `spec`. With `ignoreCase` exact and prefix values are lowercased here, and the value
 * tested is lowercased by testString (only for such matchers). `cache` shares one RegExp per
 * distinct pattern (and case flag) across a table, so a pattern repeated in many virtual hosts is
 * compiled and tiered up by V8 once. Sharing is safe: matchers are neither global nor sticky.
 */
export function compileStringMatch(spec: StringMatchSpec, ignoreCase = false, cache?: Map<string, RegExp>): StringMatcher {
  if (spec.exact !== undefined) return { type: "exact", value: ignoreCase ? spec.exact.toLowerCase() : spec.exact, ignoreCase };
  if (spec.prefix !== undefined) return { type: "prefix", value: ignoreCase ? spec.prefix.toLowerCase() : spec.prefix, ignoreCase };
  if (spec.regex !== undefined) {
    const key = `${ignoreCase ? "i" : "-"}${spec.regex}`;
    let regex = cache?.get(key);
    if (!regex) {
      regex = compileRe2(spec.regex, { anchored: true, ignoreCase });
      cache?.set(key, regex);
    }
    return { type: "regex", source: spec.regex, regex };
  }
  return { type: "present" };
}

/** Whether `value` (undefined = absent) satisfies `matcher`. An absent value satisfies nothing. */
export function testString(matcher: StringMatcher, value: string | undefined): boolean {
  if (value === undefined) return false;
  switch (matcher.type) {
    case "exact":
      return matcher.ignoreCase ? value.length === matcher.value.length && value.toLowerCase() === matcher.value : value === matcher.value;
    case "prefix":
      return matcher.ignoreCase
        ? value.length >= matcher.value.length && value.slice(0, matcher.value.length).toLowerCase() === matcher.value
        : value.startsWith(matcher.value);
    case "regex":
      return matcher.regex.test(value);
    case "present":
      return true;
  }
}

/** Short description for test output and admin dumps: `exact:/a`, `prefix:/b`, `regex:^x`, `present`. */
export function describeStringMatcher(matcher: StringMatcher): string {
  switch (matcher.type) {
    case "exact":
    case "prefix":
      return `${matcher.type}${matcher.ignoreCase ? "(i)" : ""}:${matcher.value}`;
    case "regex":
      return `regex${matcher.regex.flags.includes("i") ? "(i)" : ""}:${matcher.source}`;
    case "present":
      return "present";
  }
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-/:-@[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/**
 * Translates the RE2 syntax users rely on that JS RegExp spells differently — a leading `(?i)`
 * flag group, `(?P<name>...)` groups, `[[:digit:]]` POSIX classes, `\A` and `\z` — and compiles it.
 * @meshwork/config has already rejected what RE2 itself rejects (backreferences, lookaround).
 * `anchored` wraps the pattern in `^(?:...)$` (full match); `global` is for rewrites.
 */
export function compileRe2(source: string, options: { anchored: boolean; ignoreCase?: boolean; global?: boolean }): RegExp {
  let body = source;
  let ignoreCase = options.ignoreCase ?? false;
  if (body.startsWith("(?i)")) {
    ignoreCase = true;
    body = body.slice(4);
  }
  body = body
    .replace(/\(\?P</g, "(?<")
    .replace(/\[:(\^?)([a-z]+):\]/g, (whole, negated: string, name: string) => {
      const range = POSIX_CLASSES[name];
      if (range === undefined) return whole;
      // Inside a bracket expression a negated POSIX class cannot be expressed as a range; RE2 users rarely write it.
      return negated === "" ? range : whole;
    })
    .replace(/\\A/g, "^")
    .replace(/\\z/g, "$");
  const pattern = options.anchored ? `^(?:${body})$` : body;
  return new RegExp(pattern, `${ignoreCase ? "i" : ""}${options.global ? "g" : ""}`);
}
