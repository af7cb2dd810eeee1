// The Istio YAML from our source material (shared/examples, copied to testdata/examples) must
// load clean, and the two files extracted with broken indentation must be rejected with the line
// and field of each mistake.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeResources, loadResources } from "../src/index.ts";

const dir = join(import.meta.dirname, "../testdata/examples");
const read = (name: string) => ({ path: name, text: readFileSync(join(dir, name), "utf8") });
const examples = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

describe("shared examples", () => {
  it("are all here", () => {
    expect(examples).toHaveLength(10);
  });

  it.each(examples)("%s loads with no issue", (file) => {
    const { resources, issues } = loadResources([read(file)]);
    expect(issues).toEqual([]);
    expect(resources).toHaveLength(1);
  });

  it("decode to the model the comments describe", () => {
    // Several examples reuse a name (three VirtualServices "ratings"), so each file loads alone.
    const only = (file: string) => {
      const { resources } = loadResources([read(file)]);
      expect(resources, file).toHaveLength(1);
      return resources[0];
    };
    const routing = only("01-virtualservice-user-routing.yaml");
    expect(routing?.kind === "VirtualService" && routing.spec.http?.[0]?.match?.[0]?.headers?.["end-user"]).toEqual({ exact: "jason" });
    const subsets = only("02-destinationrule-subsets-lb.yaml");
    expect(subsets?.kind === "DestinationRule" && subsets.spec.subsets?.[1]?.trafficPolicy?.loadBalancer?.simple).toBe("ROUND_ROBIN");
    const timeout = only("03-virtualservice-timeout.yaml");
    expect(timeout?.kind === "VirtualService" && timeout.spec.http?.[0]?.timeout).toBe(10_000);
    const retries = only("04-virtualservice-retries.yaml");
    expect(retries?.kind === "VirtualService" && retries.spec.http?.[0]?.retries).toMatchObject({ attempts: 3, perTryTimeout: 2_000 });
    const breaker = only("05-destinationrule-circuit-breaker.yaml");
    expect(breaker?.kind === "DestinationRule" && breaker.spec.subsets?.[0]?.trafficPolicy?.connectionPool?.tcp?.maxConnections).toBe(100);
    const delay = only("06-virtualservice-fault-delay.yaml");
    expect(delay?.kind === "VirtualService" && delay.spec.http?.[0]?.fault?.delay).toMatchObject({ fixedDelay: 5_000, percentage: { value: 0.1 } });
    const strict = only("07-peerauthentication-namespace-strict.yaml");
    expect(strict?.kind === "PeerAuthentication" && strict.spec.mtls?.mode).toBe("STRICT");
    const portDisable = only("08-peerauthentication-port-disable.yaml");
    expect(portDisable?.kind === "PeerAuthentication" && portDisable.spec.portLevelMtls?.["80"]?.mode).toBe("DISABLE");
    const deny = only("09-authorizationpolicy-deny-other-namespaces.yaml");
    expect(deny?.kind === "AuthorizationPolicy" && deny.spec.action === "DENY" && deny.spec.rules?.[0]?.from?.[0]?.source?.notNamespaces).toEqual(["foo"]);
    const allow = only("10-authorizationpolicy-allow-get-head.yaml");
    expect(allow?.kind === "AuthorizationPolicy" && allow.spec.rules?.[0]?.to?.[0]?.operation?.methods).toEqual(["GET", "HEAD"]);
  });

  it("analyze without findings that would block them (files are independent examples)", () => {
    for (const file of examples) {
      const { resources } = loadResources([read(file)]);
      const errors = analyzeResources(resources).filter((i) => i.severity === "error" && i.name !== "UnknownSubset");
      expect(errors, file).toEqual([]);
    }
  });
});

describe("seed-as-extracted", () => {
  it("rejects the user-routing VirtualService, naming each misplaced field and its line", () => {
    const { resources, issues } = loadResources([read("seed-as-extracted/virtualservice-user-routing.yaml")]);
    expect(resources).toEqual([]);
    const summary = issues.map((i) => `${i.line}:${i.column} ${i.name} ${i.field}${i.hint ? ` (${i.hint})` : ""}`);
    expect(summary).toEqual(
      expect.arrayContaining([
        '11:7 UnknownField spec.http[0].match[0].end-user (did you mean headers.end-user? (indent it under "headers"))',
        '15:7 UnknownField spec.http[0].route[0].host (did you mean destination.host? (indent it under "destination"))',
        '16:7 UnknownField spec.http[0].route[0].subset (did you mean destination.subset? (indent it under "destination"))',
        '19:7 UnknownField spec.http[1].route[0].host (did you mean destination.host? (indent it under "destination"))',
      ]),
    );
    expect(issues.every((i) => i.severity === "error" && i.file === "seed-as-extracted/virtualservice-user-routing.yaml")).toBe(true);
  });

  it("rejects the fault-delay VirtualService: delay is not nested under fault", () => {
    const { resources, issues } = loadResources([read("seed-as-extracted/virtualservice-fault-delay.yaml")]);
    expect(resources).toEqual([]);
    const summary = issues.map((i) => `${i.line}:${i.column} ${i.name} ${i.field}${i.hint ? ` (${i.hint})` : ""}`);
    expect(summary).toEqual(
      expect.arrayContaining([
        '10:5 UnknownField spec.http[0].delay (did you mean fault.delay? (indent it under "fault"))',
        '16:7 UnknownField spec.http[0].route[0].host (did you mean destination.host? (indent it under "destination"))',
      ]),
    );
  });
});
