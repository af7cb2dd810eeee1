import { describe, expect, it } from "vitest";
import { headerValueProblem } from "./headers.ts";

describe("headerValueProblem", () => {
  it("checks Envoy header values", () => {
    expect(headerValueProblem("100%% sure, %REQ(x-id)% on %HOSTNAME%")).toBeUndefined();
    expect(headerValueProblem("line\nbreak")).toBe("contains a control character (newline?)");
  });
});
