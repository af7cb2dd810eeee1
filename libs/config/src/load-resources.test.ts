import { describe, expect, it } from "vitest";
import { formatIssue } from "./config-issue.ts";
import { loadResources, locateField } from "./load-resources.ts";

const load = (text: string) => loadResources([{ path: "in.yaml", text }]);
const summary = (text: string) => load(text).issues.map((i) => `${i.line}:${i.column} ${i.code} ${i.name} ${i.field ?? ""}`.trim());

const strict = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
`;

describe("loadResources", () => {
  it("loads a valid resource with its source position", () => {
    const { resources, issues } = load(`# mesh-wide\n${strict}`);
    expect(issues).toEqual([]);
    expect(resources).toEqual([
      {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: { name: "default", namespace: "istio-system" },
        spec: { mtls: { mode: "STRICT" } },
        source: { file: "in.yaml", line: 2 },
      },
    ]);
    expect(resources[0] && locateField(resources[0], ["spec", "mtls", "mode"])).toEqual({ file: "in.yaml", line: 9, column: 11 });
  });

  it("rejects a bad resource whole and keeps the good ones", () => {
    const { resources, issues } = load(`${strict}---\n${strict.replace("name: default", "name: other").replace("STRICT", "STRIKT")}`);
    expect(resources.map((r) => r.metadata.name)).toEqual(["default"]);
    expect(issues.map(formatIssue)).toEqual([
      'in.yaml:17:11: error MW0013 InvalidValue PeerAuthentication istio-system/other spec.mtls.mode: "STRIKT" is not one of UNSET, DISABLE, PERMISSIVE, STRICT (hint: did you mean STRICT?)',
    ]);
  });

  it("names the kind a typo meant, and the group a kind belongs to", () => {
    expect(load(strict.replace("kind: PeerAuthentication", "kind: PeerAuthentcation")).issues[0]).toMatchObject({ name: "UnknownKind", hint: "did you mean PeerAuthentication?", line: 2, column: 7 });
    expect(load(strict.replace("security.istio.io/v1", "networking.istio.io/v1")).issues[0]).toMatchObject({ name: "UnknownKind", hint: "use apiVersion: security.istio.io/v1" });
    expect(load(strict.replace("security.istio.io/v1", "security.istio.io/v1alpha3")).issues[0]).toMatchObject({
      name: "UnknownKind",
      hint: "use one of security.istio.io/v1, security.istio.io/v1beta1",
    });
  });

  it("checks metadata: name present and well-formed, namespace, string labels", () => {
    expect(summary(strict.replace("  name: default\n", ""))).toEqual(["3:1 MW0011 MissingField metadata.name"]);
    expect(summary(strict.replace("name: default", "name: Default_Policy"))).toEqual(["4:9 MW0013 InvalidValue metadata.name"]);
    expect(summary(strict.replace("namespace: istio-system", "namespace: Istio.System"))).toEqual(["5:14 MW0013 InvalidValue metadata.namespace"]);
    expect(summary(strict.replace("  namespace: istio-system\n", "  namespace: istio-system\n  labels:\n    port: 80\n"))).toEqual(["7:11 MW0013 InvalidValue metadata.labels.port"]);
  });

  it("rejects unknown top-level fields and documents that are not resources", () => {
    expect(summary(`${strict}specs: {}\n`)).toEqual(["9:1 MW0010 UnknownField specs"]);
    expect(summary("- a\n- b\n")).toEqual(["1:1 MW0002 NotAResource"]);
    expect(summary("kind: PeerAuthentication\nmetadata: {name: x}\n")).toEqual(["1:1 MW0002 NotAResource apiVersion"]);
  });

  it("reports a YAML syntax error and still loads the other documents", () => {
    const { resources, issues } = load(`${strict}---\nkind: [\n---\n${strict.replace("name: default", "name: after")}`);
    expect(resources.map((r) => r.metadata.name)).toEqual(["default", "after"]);
    expect(issues.map((i) => [i.name, i.line])).toEqual([["YamlSyntax", 10]]);
  });

  it("reports a second definition of the same resource and keeps the first", () => {
    const { resources, issues } = load(`${strict}---\n${strict}`);
    expect(resources).toHaveLength(1);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ name: "DuplicateResource", line: 13, message: "PeerAuthentication istio-system/default is defined again; the first definition is at in.yaml:1" });
  });

  it("reads `kind: List` documents and JSON", () => {
    const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: [{ apiVersion: "security.istio.io/v1beta1", kind: "AuthorizationPolicy", metadata: { name: "allow-nothing", namespace: "foo" }, spec: {} }] });
    const { resources, issues } = load(list);
    expect(issues).toEqual([]);
    expect(resources.map((r) => `${r.kind} ${r.metadata.name}`)).toEqual(["AuthorizationPolicy allow-nothing"]);
  });

  it("loads core v1 Namespaces as `kubectl get namespace -o yaml` lists them, keeping name and labels", () => {
    const list = JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", uid: "0c1a", resourceVersion: "42", labels: { "kubernetes.io/metadata.name": "shop", team: "shop" } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } },
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "blog" } },
      ],
    });
    const { resources, issues } = load(list);
    expect(issues).toEqual([]);
    expect(resources.map((r) => [r.kind, r.metadata.name, r.metadata.labels])).toEqual([
      ["Namespace", "shop", { "kubernetes.io/metadata.name": "shop", team: "shop" }],
      ["Namespace", "blog", undefined],
    ]);
  });

  it("treats a missing spec as empty (AuthorizationPolicy allow-nothing)", () => {
    const { resources } = load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: allow-nothing\n");
    expect(resources[0]?.spec).toMatchObject({});
  });
});
