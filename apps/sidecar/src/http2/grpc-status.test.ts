import { compileRetryPolicy } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { grpcToHttpStatus, isGrpcContentType, isRetriableGrpcStatus, parseGrpcStatus } from "./grpc-status.ts";

describe("grpc status helpers", () => {
  it("isGrpcContentType() accepts application/grpc and its +suffix forms only", () => {
    expect(isGrpcContentType("application/grpc")).toBe(true);
    expect(isGrpcContentType("application/grpc+proto")).toBe(true);
    expect(isGrpcContentType("application/grpc;charset=utf-8")).toBe(true);
    expect(isGrpcContentType("application/grpc-web")).toBe(false);
    expect(isGrpcContentType("application/json")).toBe(false);
    expect(isGrpcContentType(undefined)).toBe(false);
  });

  it("grpcToHttpStatus() maps for outlier detection and treats unknown codes as 500", () => {
    expect([0, 1, 4, 5, 8, 12, 14, 16, 99].map(grpcToHttpStatus)).toEqual([200, 499, 504, 404, 429, 501, 503, 401, 500]);
  });

  it("parseGrpcStatus() reads only non-negative integers", () => {
    expect(parseGrpcStatus("14")).toBe(14);
    expect(parseGrpcStatus("0")).toBe(0);
    expect(parseGrpcStatus("")).toBeUndefined();
    expect(parseGrpcStatus("x")).toBeUndefined();
    expect(parseGrpcStatus(["1"])).toBeUndefined();
    expect(parseGrpcStatus(undefined)).toBeUndefined();
  });

  it("isRetriableGrpcStatus() maps each retryOn token to its gRPC code", () => {
    const policy = compileRetryPolicy({ attempts: 2, retryOn: "unavailable,deadline-exceeded" });
    expect(isRetriableGrpcStatus(policy, 14)).toBe(true);
    expect(isRetriableGrpcStatus(policy, 4)).toBe(true);
    expect(isRetriableGrpcStatus(policy, 13)).toBe(false);
    expect(isRetriableGrpcStatus(policy, 1)).toBe(false);
    const all = compileRetryPolicy({ attempts: 2, retryOn: "cancelled,internal,resource-exhausted" });
    expect([1, 8, 13, 14, 0].map((code) => isRetriableGrpcStatus(all, code))).toEqual([true, true, true, false, false]);
  });
});
