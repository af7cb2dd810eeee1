import { describe, expect, it } from "vitest";
import { hostCovers, hostsOverlap, wildcardDomainProblem } from "./host-names.ts";

describe("host names", () => {
  it("validates wildcard domains", () => {
    expect(["reviews", "*", "*.example.com", "a-b.c", "istio.io."].map(wildcardDomainProblem)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(wildcardDomainProblem("a.*.com")).toBe('has an invalid label "*"');
    expect(wildcardDomainProblem("example.123")).toBe('has an all-numeric top-level label "123"');
    expect(wildcardDomainProblem("-a.com")).toBe('has an invalid label "-a"');
    expect(wildcardDomainProblem(`${"a".repeat(64)}.com`)).toBe(`has an invalid label "${"a".repeat(64)}"`);
  });

  it("hostCovers: exact names, * and suffix wildcards of any depth", () => {
    expect(hostCovers("a.example.com", "a.example.com")).toBe(true);
    expect(hostCovers("*", "anything")).toBe(true);
    expect(hostCovers("*", "anything.at.all")).toBe(true);
    expect(hostCovers("*.example.com", "a.example.com")).toBe(true);
    expect(hostCovers("*.example.com", "a.b.example.com")).toBe(true);
    expect(hostCovers("*.example.com", "*.a.example.com")).toBe(true);
    expect(hostCovers("*.example.com", "*.b.example.com")).toBe(true);
    expect(hostCovers("*.example.com", "example.com")).toBe(false);
    expect(hostCovers("*.example.com", "a.example.org")).toBe(false);
    expect(hostCovers("a.example.com", "*.example.com")).toBe(false);
  });

  it("hostCovers compares names as written, and a partial wildcard covers its suffix as Istio's host matching does", () => {
    expect(hostCovers("*.example.com", "A.EXAMPLE.COM")).toBe(false);
    expect(hostCovers("*example.com", "example.com")).toBe(true);
    expect(hostCovers("*example.com", "myexample.com")).toBe(true);
  });

  it("hostsOverlap is symmetric", () => {
    expect(hostsOverlap("a.example.com", "*.example.com")).toBe(true);
    expect(hostsOverlap("*.example.com", "a.example.com")).toBe(true);
    expect(hostsOverlap("a.example.com", "b.example.com")).toBe(false);
  });
});
