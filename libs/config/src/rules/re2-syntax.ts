// RE2 regular expressions as Envoy (and so Istio) accepts them. JS RegExp is the closest engine we
// have, so RE2-only syntax is translated and JS-only syntax (lookarounds, backreferences) is
// rejected before compiling.

const re2MaxLength = 1024;

/** Why `re` is not an RE2 expression Istio accepts, or undefined when it is. */
export function re2Problem(re: string): string | undefined {
  if (re === "") return "is empty";
  // Envoy bounds RE2 program size; Istio approximates it by length (validation.go validateStringRegexp).
  if (re.length > re2MaxLength) return `is ${re.length} characters long; at most ${re2MaxLength} allowed`;
  let source = "";
  let flags = "";
  let i = 0;
  const leading = /^\(\?([imsU]+)\)/.exec(re);
  if (leading) {
    flags = (leading[1] as string).replace("U", "");
    i = leading[0].length;
  }
  let inClass = false;
  for (; i < re.length; i++) {
    const c = re[i] as string;
    const rest = re.slice(i);
    if (c === "\\") {
      const next = re[i + 1] ?? "";
      if (/[1-9]/.test(next)) return `uses a backreference \\${next}, which RE2 does not support`;
      if (next === "A" && !inClass) source += "^";
      else if (next === "z" && !inClass) source += "$";
      else if (next === "C") return "uses \\C, which is not supported";
      else source += c + next;
      i++;
      continue;
    }
    if (inClass) {
      const posix = /^\[:(alnum|alpha|digit|lower|upper|space|word|xdigit|punct):\]/.exec(rest);
      if (posix) {
        source += posixClasses[posix[1] as string];
        i += posix[0].length - 1;
        continue;
      }
      if (c === "]") inClass = false;
      source += c;
      continue;
    }
    if (c === "[") {
      inClass = true;
      source += c;
      if (re[i + 1] === "^") source += re[++i];
      if (re[i + 1] === "]") source += "\\" + re[++i]; // a leading ] is literal in RE2
      continue;
    }
    if (rest.startsWith("(?=") || rest.startsWith("(?!") || rest.startsWith("(?<=") || rest.startsWith("(?<!")) {
      return "uses a lookaround assertion, which RE2 does not support";
    }
    if (rest.startsWith("(?P<")) {
      source += "(?<";
      i += 3;
      continue;
    }
    const inlineFlags = /^\(\?[imsU-]+(:|\))/.exec(rest);
    if (inlineFlags) {
      // JS has no inline flag groups; treat `(?i:x)` as `(?:x)` and drop mid-pattern `(?i)`.
      if (inlineFlags[1] === ":") source += "(?:";
      i += inlineFlags[0].length - 1;
      continue;
    }
    source += c;
  }
  try {
    new RegExp(source, flags);
    return undefined;
  } catch (error) {
    return `does not compile: ${(error as Error).message.replace(/^Invalid regular expression: /, "")}`;
  }
}

const posixClasses: Readonly<Record<string, string>> = {
  alnum: "a-zA-Z0-9",
  alpha: "a-zA-Z",
  digit: "0-9",
  lower: "a-z",
  upper: "A-Z",
  space: "\\s",
  word: "\\w",
  xdigit: "0-9a-fA-F",
  punct: "!-\\/:-@\\[-`{-~",
};
