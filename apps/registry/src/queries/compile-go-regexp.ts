// Go (RE2) regular expressions as Consul users write them — prepared query templates' `Regexp`,
// user events' node/service/tag filters — compiled to JavaScript RegExps. The common syntax is the
// same; this translates what differs (`(?P<name>`, leading `(?flags)`, `\A`, `\z`, a `]` first in a
// class) and refuses what JavaScript would read differently or RE2 does not have (lookaround,
// backreferences, POSIX classes, `\Q…\E`, `\p{…}`, flag groups), so a pattern never silently
// means something else here than in Consul.

export type CompiledGoRegexp = { readonly ok: true; readonly regexp: RegExp } | { readonly ok: false; readonly message: string };

/**
 * Compiles `source` with Go's semantics (unanchored like Go's `MatchString` / `FindStringSubmatch`
 * when used with `exec`/`test`). The message of a refusal starts like Go's ("error parsing regexp:").
 */
export function compileGoRegexp(source: string): CompiledGoRegexp {
  const fail = (what: string): CompiledGoRegexp => ({ ok: false, message: `error parsing regexp: ${what}: \`${source}\`` });
  let flags = "";
  let at = 0;
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(source);
  if (leading !== null) {
    const letters = leading[1] as string;
    if (/[^ims]/.test(letters)) return fail(`flag "${letters.replace(/[ims]/g, "")}" is not supported here (use i, m or s)`);
    flags = [...new Set(letters)].join("");
    at = leading[0].length;
  }
  let out = "";
  let inClass = false;
  while (at < source.length) {
    const char = source[at] as string;
    if (char === "\\") {
      const next = source[at + 1];
      if (next === undefined) return fail("trailing backslash at end of expression");
      if (/[1-9]/.test(next)) return fail(`invalid escape sequence: \`\\${next}\` (RE2 has no backreferences)`);
      if (next === "Q" || next === "E" || next === "p" || next === "P" || next === "C") return fail(`\`\\${next}\` is not supported here`);
      if (!inClass && next === "A") out += "^";
      else if (!inClass && next === "z") out += "(?![\\s\\S])";
      else out += `\\${next}`;
      at += 2;
      continue;
    }
    if (inClass) {
      if (char === "[" && source[at + 1] === ":") return fail("POSIX classes such as [:alpha:] are not supported here (use a range such as a-zA-Z)");
      if (char === "]") inClass = false;
      out += char;
      at++;
      continue;
    }
    if (char === "[") {
      inClass = true;
      out += "[";
      at++;
      if (source[at] === "^") {
        out += "^";
        at++;
      }
      // Go reads a `]` right after `[` or `[^` as a literal; JavaScript would end the class there.
      if (source[at] === "]") {
        out += "\\]";
        at++;
      }
      continue;
    }
    if (char === "(" && source[at + 1] === "?") {
      const rest = source.slice(at + 2);
      if (rest.startsWith("P<")) {
        out += "(?<";
        at += 4;
        continue;
      }
      if (rest.startsWith(":") || (rest.startsWith("<") && !rest.startsWith("<=") && !rest.startsWith("<!"))) {
        out += "(?";
        at += 2;
        continue;
      }
      return fail("invalid or unsupported Perl syntax (lookaround and flag groups are not RE2)");
    }
    out += char;
    at++;
  }
  try {
    return { ok: true, regexp: new RegExp(out, flags) };
  } catch (error) {
    return fail(error instanceof Error ? error.message.replace(/^Invalid regular expression: /, "") : String(error));
  }
}
