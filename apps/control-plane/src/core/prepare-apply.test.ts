import { loadResources } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { prepareApply } from "./prepare-apply.ts";

const vs = (name: string, host: string, timeout = "2s") => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${host}]
  http:
  - timeout: ${timeout}
    route:
    - destination: {host: ${host}}
`;

describe("prepareApply", () => {
  it("turns each submitted document into one KV write under meshwork/config, namespace filled in", () => {
    const prepared = prepareApply(`${vs("a", "reviews")}---\n${vs("b", "ratings")}`, { defaultNamespace: "default", current: [], path: "<request>" });
    expect(prepared.ok).toBe(true);
    if (!prepared.ok) return;
    expect(prepared.writes.map((w) => w.key)).toEqual(["meshwork/config/VirtualService/default/a", "meshwork/config/VirtualService/default/b"]);
    expect(JSON.parse(prepared.writes[0]?.value ?? "").metadata).toEqual({ name: "a", namespace: "default" });
  });

  it("rejects the whole request when one resource is invalid, naming line and field", () => {
    const prepared = prepareApply(`${vs("a", "reviews")}---\n${vs("b", "ratings", "soon")}`, { defaultNamespace: "default", current: [], path: "<request>" });
    expect(prepared.ok).toBe(false);
    if (prepared.ok) return;
    expect(prepared.issues[0]?.file).toBe("<request>");
    expect(prepared.issues[0]?.line).toBe(17);
    expect(prepared.issues[0]?.message).toContain("soon");
  });

  it("rejects a resource that conflicts with what already serves (two VirtualServices claim one host)", () => {
    const current = loadResources([{ path: "current", text: vs("reviews-route", "reviews").replace("metadata: {name: reviews-route}", "metadata: {name: reviews-route, namespace: default}") }]).resources;
    const prepared = prepareApply(vs("other", "reviews"), { defaultNamespace: "default", current, path: "<request>" });
    expect(prepared.ok).toBe(false);
    if (prepared.ok) return;
    expect(prepared.issues.map((i) => i.name)).toContain("DuplicateHost");
  });

  it("replaces the serving version of a resource rather than conflicting with it", () => {
    const current = loadResources([{ path: "current", text: vs("reviews-route", "reviews").replace("metadata: {name: reviews-route}", "metadata: {name: reviews-route, namespace: default}") }]).resources;
    expect(prepareApply(vs("reviews-route", "reviews", "5s"), { defaultNamespace: "default", current, path: "<request>" }).ok).toBe(true);
  });
});
