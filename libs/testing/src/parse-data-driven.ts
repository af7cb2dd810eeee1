// Reads and writes the data-driven test file format of github.com/cockroachdb/datadriven: cases of
// a directive line, input lines, `----` and the expected output, separated by blank lines.

import { parseDirective, type Directive } from "./parse-directive.ts";

/** One case of a data-driven file, as written. */
export interface DataDrivenCase extends Directive {
  /** The directive as written (continuation lines joined), e.g. `propose 1 data=x`. */
  readonly directive: string;
  /** The input lines between the directive and `----`, joined by "\n", without a final newline. */
  readonly input: string;
  /** The expected output: each line ends with "\n"; "" when the case expects no output. */
  readonly expected: string;
  /** 1-based line of the directive. */
  readonly line: number;
  /** `file:line` of the directive, for messages. */
  readonly pos: string;
}

/** A parsed file: cases interleaved with the text between them (comments, blank lines), kept for rewriting. */
export type DataDrivenChunk =
  | { readonly type: "text"; readonly lines: readonly string[] }
  | { readonly type: "case"; readonly case: DataDrivenCase; readonly head: readonly string[] };

const SEPARATOR = "----";

/**
 * Parses a data-driven file. Lines that are blank or start with `#` between cases are kept as
 * text. A directive line ending in `\` continues on the next line. After `----` the expected output
 * runs to the next blank line, or, after a doubled `----`/`----`, to the next doubled `----`/`----`
 * (so it may contain blank lines). `file` is used in positions and error messages.
 */
export function parseDataDriven(text: string, file: string): DataDrivenChunk[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const chunks: DataDrivenChunk[] = [];
  let textLines: string[] = [];
  let i = 0;
  const at = (index: number): string | undefined => lines[index];
  while (i < lines.length) {
    const first = at(i) ?? "";
    if (first.trim() === "" || first.startsWith("#")) {
      textLines.push(first);
      i += 1;
      continue;
    }
    if (textLines.length > 0) chunks.push({ type: "text", lines: textLines });
    textLines = [];
    const line = i + 1;
    const pos = `${file}:${line}`;
    const head: string[] = [];
    let directive = "";
    for (;;) {
      const current = at(i);
      if (current === undefined) throw new Error(`${pos}: directive ends with "\\" at the end of the file`);
      head.push(current);
      i += 1;
      if (!current.endsWith("\\")) {
        directive += current;
        break;
      }
      directive += `${current.slice(0, -1)} `;
    }
    const inputLines: string[] = [];
    for (;;) {
      const current = at(i);
      if (current === undefined) throw new Error(`${pos}: "${directive}" has no "${SEPARATOR}" line before its expected output`);
      head.push(current);
      i += 1;
      if (current === SEPARATOR) break;
      inputLines.push(current);
    }
    const outputLines: string[] = [];
    if (at(i) === SEPARATOR) {
      i += 1;
      while (!(at(i) === SEPARATOR && at(i + 1) === SEPARATOR)) {
        const current = at(i);
        if (current === undefined) throw new Error(`${pos}: the output opened by a double "${SEPARATOR}" is never closed by another`);
        outputLines.push(current);
        i += 1;
      }
      i += 2;
    } else {
      for (let current = at(i); current !== undefined && current.trim() !== ""; current = at(i)) {
        outputLines.push(current);
        i += 1;
      }
    }
    const expected = outputLines.map((l) => `${l}\n`).join("");
    const { cmd, args } = parseDirective(directive, pos);
    chunks.push({ type: "case", head, case: { cmd, args, directive, input: inputLines.join("\n"), expected, line, pos } });
  }
  if (textLines.length > 0) chunks.push({ type: "text", lines: textLines });
  return chunks;
}

/** Output as stored: "" stays "", anything else ends with exactly the newline it has or one added. */
export function normalizeOutput(output: string): string {
  return output === "" || output.endsWith("\n") ? output : `${output}\n`;
}

/**
 * Writes the file back with each case's output replaced by `outputs[i]` (the i-th case, in file
 * order; normalized by `normalizeOutput`). Text between cases is kept byte for byte; an output with a
 * blank line is written between doubled separators.
 */
export function formatDataDriven(chunks: readonly DataDrivenChunk[], outputs: readonly string[]): string {
  let out = "";
  let caseIndex = 0;
  for (const [chunkIndex, chunk] of chunks.entries()) {
    if (chunk.type === "text") {
      out += chunk.lines.map((l) => `${l}\n`).join("");
      continue;
    }
    const output = normalizeOutput(outputs[caseIndex] ?? chunk.case.expected);
    caseIndex += 1;
    out += chunk.head.map((l) => `${l}\n`).join("");
    const hasBlankLine = output !== "" && output.slice(0, -1).split("\n").some((l) => l.trim() === "");
    if (hasBlankLine) {
      out += `${SEPARATOR}\n${output}${SEPARATOR}\n${SEPARATOR}\n`;
      continue;
    }
    out += output;
    // A single-separator output runs to the next blank line: keep what follows from joining it.
    const next = chunks[chunkIndex + 1];
    if (next !== undefined && (next.type === "case" || next.lines[0]?.trim() !== "")) out += "\n";
  }
  return out;
}
