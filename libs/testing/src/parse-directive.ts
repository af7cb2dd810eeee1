// Parses the directive line of a data-driven test case, `cmd key=val list=(a, b) flag`, into the
// command and its arguments (the syntax of github.com/cockroachdb/datadriven, plus quoted values).

/** The command of a directive line and its arguments; a bare `flag` has an empty value list. */
export interface Directive {
  readonly cmd: string;
  readonly args: Readonly<Record<string, readonly string[]>>;
}

/**
 * Parses `cmd key=val key=(a, b) key="a b" flag`. Tokens are separated by spaces except inside
 * parentheses or double quotes; `key=` gives `[""]`, `key=()` gives `[]`. Throws with `where`
 * (file:line) in the message on a malformed line or a repeated key.
 */
export function parseDirective(text: string, where: string): Directive {
  const tokens = splitTokens(text, where);
  const [cmd, ...rest] = tokens;
  if (cmd === undefined || cmd.includes("=")) {
    throw new Error(`${where}: a directive starts with a command name, got ${JSON.stringify(text)}`);
  }
  const args: Record<string, string[]> = {};
  for (const token of rest) {
    const eq = token.indexOf("=");
    const key = eq < 0 ? token : token.slice(0, eq);
    if (key === "") throw new Error(`${where}: argument without a name in ${JSON.stringify(token)}`);
    if (Object.hasOwn(args, key)) throw new Error(`${where}: argument "${key}" given twice`);
    args[key] = eq < 0 ? [] : parseValues(token.slice(eq + 1));
  }
  return { cmd, args };
}

function splitTokens(text: string, where: string): string[] {
  const tokens: string[] = [];
  let current = "";
  let depth = 0;
  let quoted = false;
  for (const ch of text) {
    if (quoted) {
      quoted = ch !== '"';
      current += ch;
    } else if (ch === '"') {
      quoted = true;
      current += ch;
    } else if (ch === "(") {
      depth += 1;
      current += ch;
    } else if (ch === ")") {
      if (depth === 0) throw new Error(`${where}: unbalanced ")" in ${JSON.stringify(text)}`);
      depth -= 1;
      current += ch;
    } else if ((ch === " " || ch === "\t") && depth === 0) {
      if (current !== "") tokens.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  if (quoted || depth !== 0) throw new Error(`${where}: unclosed ${quoted ? "quote" : '"("'} in ${JSON.stringify(text)}`);
  if (current !== "") tokens.push(current);
  return tokens;
}

function parseValues(raw: string): string[] {
  if (raw.startsWith("(") && raw.endsWith(")")) {
    const inner = raw.slice(1, -1).trim();
    return inner === "" ? [] : splitList(inner).map((value) => unquote(value.trim()));
  }
  return [unquote(raw)];
}

/** Splits on commas outside quotes. */
function splitList(inner: string): string[] {
  const values: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of inner) {
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      values.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  values.push(current);
  return values;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}
