import { describe, expect, it } from "vitest";
import { admitConfig, admittedResources, emptyAdmission, type ConfigEntry } from "./admit-config.ts";

const good = (name: string, host = "reviews") => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${host}]
  http:
  - route:
    - destination: {host: ${host}}
`;
const bad = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - timeout: soon
    route:
    - destination: {host: reviews}
`;
const key = (name: string) => `meshwork/config/VirtualService/default/${name}`;

describe("admitConfig", () => {
  it("accepts valid entries and lists their resources with namespaces filled in", () => {
    const state = admitConfig([{ source: "registry", key: key("reviews"), text: good("reviews") }], emptyAdmission, "default");
    expect(state.rejected).toEqual([]);
    expect(admittedResources(state, "default").map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`)).toEqual(["VirtualService/default/reviews"]);
  });

  it("rejects a bad new version with its error and keeps serving the last good one", () => {
    const first = admitConfig([{ source: "registry", key: key("reviews"), text: good("reviews") }], emptyAdmission, "default");
    const second = admitConfig([{ source: "registry", key: key("reviews"), text: bad }], first, "default");
    expect(second.rejected).toHaveLength(1);
    expect(second.rejected[0]?.keptLastGood).toBe(true);
    expect(second.rejected[0]?.issues[0]?.message).toContain("soon");
    expect(second.rejected[0]?.issues[0]?.file).toBe(`registry:${key("reviews")}`);
    expect(admittedResources(second, "default")).toHaveLength(1);
    expect(second.accepted.get(`registry:${key("reviews")}`)?.text).toBe(good("reviews"));
  });

  it("rejects a bad entry that never was good, and serves nothing for it", () => {
    const state = admitConfig([{ source: "directory", key: "vs.yaml", text: bad }], emptyAdmission, "default");
    expect(state.rejected[0]?.keptLastGood).toBe(false);
    expect(admittedResources(state, "default")).toEqual([]);
  });

  it("refuses a registry key that does not name the resource it holds", () => {
    const state = admitConfig([{ source: "registry", key: key("other"), text: good("reviews") }], emptyAdmission, "default");
    expect(state.rejected[0]?.issues[0]?.message).toBe(`registry key "${key("other")}" holds VirtualService/default/reviews; a key holds exactly the resource it names`);
  });

  it("keeps the registry's definition of a resource a file defines too", () => {
    const entries: ConfigEntry[] = [
      { source: "directory", key: "a.yaml", text: good("reviews", "ratings") },
      { source: "registry", key: key("reviews"), text: good("reviews") },
    ];
    const state = admitConfig(entries, emptyAdmission, "default");
    expect([...state.accepted.keys()]).toEqual([`registry:${key("reviews")}`]);
    expect(state.rejected[0]?.issues[0]?.message).toBe(`VirtualService/default/reviews is already defined by registry:${key("reviews")}`);
  });

  it("drops entries their source no longer holds", () => {
    const first = admitConfig([{ source: "registry", key: key("reviews"), text: good("reviews") }], emptyAdmission, "default");
    expect(admitConfig([], first, "default").accepted.size).toBe(0);
  });
});
