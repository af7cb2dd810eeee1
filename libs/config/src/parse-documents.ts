// Splits YAML (or JSON) text into documents and keeps, for each, a way back from a field path to
// the line and column it was written at, so errors can point at the user's own text.
//
// Two parsers, for speed: js-yaml reads every document (about 10x faster than `yaml` on large
// meshes), and only a document that has a problem is parsed again with `yaml`, whose node
// ranges map a field path to its position.
import jsYaml from "js-yaml";
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from "yaml";
import type { FieldPath } from "./field-issue.ts";

/** 1-based line and column. */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

export interface ParsedDocument {
  /** The document as plain data (maps → objects, sequences → arrays). */
  readonly value: unknown;
  /** Where the document starts. */
  readonly position: TextPosition;
  /** Where `path` was written; `atKey` points at the key rather than its value. Falls back to the deepest existing ancestor. */
  locate(path: FieldPath, atKey?: boolean): TextPosition;
}

export interface SyntaxProblem {
  readonly message: string;
  readonly position: TextPosition;
}

export interface ParsedText {
  readonly documents: ParsedDocument[];
  readonly syntaxProblems: SyntaxProblem[];
}

interface Chunk {
  readonly text: string;
  /** 0-based line of the chunk's first line in the whole text. */
  readonly firstLine: number;
}

// YAML 1.2 §9.1: a line starting with `---` or `...` (then blank or end) is a document marker,
// never scalar content, so splitting on such lines is exact.
const markerLines = /^(?:---|\.\.\.)(?:[ \t][^\n]*)?\r?$/gm;

/** Splits at marker lines with slices of the text (no per-line copies: meshes are megabytes). */
function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let line = 0; // 0-based line of `start`
  const push = (end: number): void => {
    // The newline before a marker belongs to the marker line, not to the document.
    const last = end > start && text[end - 1] === "\n" ? end - 1 : end;
    if (last > start) chunks.push({ text: text.slice(start, last), firstLine: line });
  };
  for (const marker of text.matchAll(markerLines)) {
    push(marker.index);
    line += countNewlines(text, start, marker.index);
    const inline = marker[0].startsWith("---") ? marker[0].slice(3).trim() : "";
    if (inline !== "") {
      // `--- {inline: content}` keeps its content (behind a blank where the marker was).
      chunks.push({ text: ` ${marker[0].slice(3)}`, firstLine: line });
    }
    const next = marker.index + marker[0].length;
    line += countNewlines(text, marker.index, next) + (next < text.length ? 1 : 0);
    start = Math.min(text.length, next + 1);
  }
  push(text.length);
  return chunks;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf("\n", from); i !== -1 && i < to; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

/** Parses every document of a multi-document YAML or JSON text. A document with a syntax error is dropped and reported. */
export function parseDocuments(text: string): ParsedText {
  const documents: ParsedDocument[] = [];
  const syntaxProblems: SyntaxProblem[] = [];
  for (const chunk of splitDocuments(text)) {
    let value: unknown;
    try {
      value = jsYaml.load(chunk.text, { schema: jsYaml.CORE_SCHEMA });
    } catch (error) {
      syntaxProblems.push(syntaxProblem(chunk, error));
      continue;
    }
    if (value === undefined || value === null) continue; // an empty document, e.g. after a trailing `---`
    let detailed: { doc: Document; lineCounter: LineCounter } | undefined;
    const locate = (path: FieldPath, atKey = false): TextPosition => {
      if (!detailed) {
        const lineCounter = new LineCounter();
        detailed = { doc: parseDocument(chunk.text, { lineCounter, prettyErrors: false }), lineCounter };
      }
      const { line, col } = detailed.lineCounter.linePos(offsetOf(detailed.doc, path, atKey));
      return { line: line + chunk.firstLine, column: col };
    };
    documents.push({ value, position: firstContentPosition(chunk), locate });
  }
  return { documents, syntaxProblems };
}

/** The first line that is neither blank nor a comment (where the resource starts). */
function firstContentPosition(chunk: Chunk): TextPosition {
  let lineStart = 0;
  for (let index = 0; lineStart <= chunk.text.length; index++) {
    const lineEnd = chunk.text.indexOf("\n", lineStart);
    const line = chunk.text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
    const content = line.trimStart();
    if (content !== "" && !content.startsWith("#")) {
      return { line: chunk.firstLine + index + 1, column: line.length - content.length + 1 };
    }
    if (lineEnd === -1) break;
    lineStart = lineEnd + 1;
  }
  return { line: chunk.firstLine + 1, column: 1 };
}

function syntaxProblem(chunk: Chunk, error: unknown): SyntaxProblem {
  if (error instanceof jsYaml.YAMLException) {
    // At the end of the input js-yaml points one line past it; keep the position inside the document.
    const lastLine = chunk.text.split("\n").length - 1;
    const line = Math.min(error.mark.line, lastLine);
    return {
      message: error.reason,
      position: { line: chunk.firstLine + line + 1, column: line === error.mark.line ? error.mark.column + 1 : 1 },
    };
  }
  throw error;
}

/** Offset in the text of `path` inside `doc`, or of the deepest ancestor that exists. */
function offsetOf(doc: Document, path: FieldPath, atKey: boolean): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return offset;
      const key = pair.key as Node;
      if (last && atKey) return key.range?.[0] ?? offset;
      const value = pair.value as Node | null;
      if (value === null || !value.range) return key.range?.[0] ?? offset;
      node = value;
      offset = value.range[0];
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as Node | undefined;
      if (!item?.range) return offset;
      node = item;
      offset = item.range[0];
    } else {
      return offset;
    }
  }
  return offset;
}
