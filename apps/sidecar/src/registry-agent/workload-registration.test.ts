import { describe, expect, it } from "vitest";
import { RegistrationSettingsError, workloadRegistration } from "./workload-registration.ts";

const input = { workloadName: "reviews-v1-7c9", namespace: "bookinfo", labels: { app: "reviews", version: "v1" }, bind: "127.0.0.1", inboundPort: 15006, statsPort: 15020 };

describe("workloadRegistration", () => {
  it("registers the inbound listener under the app label, the workload name as ID, labels and namespace as meta, the version as tag", () => {
    expect(workloadRegistration(input)).toEqual({
      Name: "reviews",
      ID: "reviews-v1-7c9",
      Address: "127.0.0.1",
      Port: 15006,
      Tags: ["v1"],
      Meta: { app: "reviews", version: "v1", namespace: "bookinfo" },
      Check: { Name: "sidecar ready", HTTP: "http://127.0.0.1:15020/healthz/ready", Interval: "10s", Timeout: "2s", DeregisterCriticalServiceAfter: "1m" },
    });
  });

  it("leaves the address to the node's when the sidecar binds every address, and checks it on loopback", () => {
    const service = workloadRegistration({ ...input, bind: "0.0.0.0" });
    expect(service.Address).toBe("");
    expect(service.Check.HTTP).toBe("http://127.0.0.1:15020/healthz/ready");
    expect(workloadRegistration({ ...input, bind: "::1" }).Check.HTTP).toBe("http://[::1]:15020/healthz/ready");
  });

  it("falls back to the workload name as service name and to NAME.NAMESPACE as ID; no version, no tag", () => {
    expect(workloadRegistration({ ...input, labels: {} })).toMatchObject({ Name: "reviews-v1-7c9", ID: "reviews-v1-7c9", Tags: [] });
    expect(workloadRegistration({ ...input, workloadName: undefined })).toMatchObject({ Name: "reviews", ID: "reviews.bookinfo" });
  });

  it("names the flag to set when a name, the inbound listener or the stats port is missing", () => {
    expect(() => workloadRegistration({ ...input, labels: {}, workloadName: undefined })).toThrow(new RegistrationSettingsError("--registry-agent needs a service name: set --labels app=NAME (or --workload-name)"));
    expect(() => workloadRegistration({ ...input, inboundPort: undefined })).toThrow(/set --inbound-port/);
    expect(() => workloadRegistration({ ...input, statsPort: -1 })).toThrow(/set --stats-port/);
  });
});
