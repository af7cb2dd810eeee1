import { describe, expect, it } from "vitest";
import { parseDocuments } from "./parse-documents.ts";

const twoDocs = `# leading comment
a: 1
---
kind: X
spec:
  http:
  - route:
    - host: r
---
`;

describe("parseDocuments", () => {
  it("splits documents and skips empty ones", () => {
    const { documents, syntaxProblems } = parseDocuments(twoDocs);
    expect(syntaxProblems).toEqual([]);
    expect(documents.map((d) => d.value)).toEqual([{ a: 1 }, { kind: "X", spec: { http: [{ route: [{ host: "r" }] }] } }]);
    expect(documents.map((d) => d.position.line)).toEqual([2, 4]);
  });

  it("locates keys and values in the whole text", () => {
    const doc = parseDocuments(twoDocs).documents[1];
    expect(doc?.locate(["spec", "http", 0, "route", 0, "host"], true)).toEqual({ line: 8, column: 7 });
    expect(doc?.locate(["spec", "http", 0, "route", 0, "host"])).toEqual({ line: 8, column: 13 });
    // A path that does not exist falls back to its deepest existing ancestor.
    expect(doc?.locate(["spec", "http", 0, "nothing", "here"])).toEqual({ line: 7, column: 5 });
  });

  it("reports a syntax error with its line and keeps the other documents", () => {
    const { documents, syntaxProblems } = parseDocuments("x: 0\n---\na: [1\nb: 2\n---\ny: 1\n");
    expect(documents.map((d) => d.value)).toEqual([{ x: 0 }, { y: 1 }]);
    expect(syntaxProblems).toHaveLength(1);
    expect(syntaxProblems[0]?.position.line).toBe(4);
  });

  it("rejects duplicate keys, as Kubernetes does", () => {
    expect(parseDocuments("a: 1\na: 2\n").syntaxProblems[0]?.message).toMatch(/duplicate/);
  });

  it("reads JSON, and content on the --- line", () => {
    expect(parseDocuments('{"a": {"b": [1, 2]}}').documents[0]?.value).toEqual({ a: { b: [1, 2] } });
    expect(parseDocuments("--- {a: 1}\n--- {b: 2}\n").documents.map((d) => d.value)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it("keeps YAML 1.2 core types: no dates, no yes/no booleans", () => {
    expect(parseDocuments("d: 2024-01-01\ny: yes\nn: 080\n").documents[0]?.value).toEqual({ d: "2024-01-01", y: "yes", n: 80 });
  });
});
