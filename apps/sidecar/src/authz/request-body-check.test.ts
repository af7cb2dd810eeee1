// includeRequestBodyInCheck read as Envoy's with_request_body: the read limit, the 413 rule and the
// bytes (and partial-body flag) a check carries, at and around maxRequestBytes.
import { describe, expect, it } from "vitest";
import type { ExtAuthzRequestBody } from "./mesh-authz-config.ts";
import { bodyInCheck, bodyReadLimit, isBodyTooLarge } from "./request-body-check.ts";

const whole: ExtAuthzRequestBody = { maxRequestBytes: 4, allowPartialMessage: false, packAsBytes: false };
const partial: ExtAuthzRequestBody = { ...whole, allowPartialMessage: true };
const read = (text: string, complete: boolean) => ({ body: Buffer.from(text), complete });

describe("bodyReadLimit", () => {
  it("reads maxRequestBytes with allowPartialMessage, one byte more without (enough to know it is too large)", () => {
    expect(bodyReadLimit(partial)).toBe(4);
    expect(bodyReadLimit(whole)).toBe(5);
  });
});

describe("isBodyTooLarge", () => {
  it("refuses a body over maxRequestBytes, or not read whole, unless allowPartialMessage", () => {
    expect(isBodyTooLarge(whole, read("abcd", true))).toBe(false);
    expect(isBodyTooLarge(whole, read("", true))).toBe(false);
    expect(isBodyTooLarge(whole, read("abcde", false))).toBe(true);
    expect(isBodyTooLarge(whole, read("abcde", true))).toBe(true);
    expect(isBodyTooLarge(whole, read("ab", false))).toBe(true);
    expect(isBodyTooLarge(partial, read("abcdefgh", false))).toBe(false);
  });
});

describe("bodyInCheck", () => {
  it("sends a whole body within the limit as it is, not partial", () => {
    expect(bodyInCheck(whole, read("abcd", true))).toEqual({ bytes: Buffer.from("abcd"), partial: false });
  });

  it("cuts a larger body at maxRequestBytes and marks it partial", () => {
    expect(bodyInCheck(partial, read("abcdefgh", true))).toEqual({ bytes: Buffer.from("abcd"), partial: true });
    expect(bodyInCheck(partial, read("abcdef", false))).toEqual({ bytes: Buffer.from("abcd"), partial: true });
  });

  it("marks a body that was not read to its end partial even when it fits", () => {
    expect(bodyInCheck(partial, read("abcd", false))).toEqual({ bytes: Buffer.from("abcd"), partial: true });
  });
});
