import { describe, expect, it } from "vitest";
import { checkPortNumber, portNameIssues, portProblem } from "./ports.ts";

describe("ports", () => {
  it("checkPortNumber accepts 1..65535 and unset, and rejects the rest", () => {
    expect([1, 80, 65535, undefined].flatMap((p) => checkPortNumber(p, ["port"]))).toEqual([]);
    expect([0, 65536].flatMap((p) => checkPortNumber(p, ["port"])).map((i) => i.message)).toEqual([
      "port 0 is not in the range 1..65535",
      "port 65536 is not in the range 1..65535",
    ]);
  });

  it("portProblem reads decimal strings only", () => {
    expect(portProblem("8080")).toBeUndefined();
    expect(portProblem("0")).toBe("port 0 is out of range");
    expect(portProblem("65536")).toBe("port 65536 is out of range");
    expect(portProblem("http")).toBe('"http" is not a port number');
    expect(portProblem("1e3")).toBe('"1e3" is not a port number');
  });

  it("portNameIssues wants a DNS label and suggests the kind's example", () => {
    expect(portNameIssues("http-web", ["name"], { example: "http-web" })).toEqual([]);
    expect(portNameIssues("Http_Web", ["name"], { example: "http-web" })).toEqual([
      { path: ["name"], message: 'port name "Http_Web" is not a DNS label', hint: "use lowercase letters, digits and '-', e.g. http-web" },
    ]);
  });
});
