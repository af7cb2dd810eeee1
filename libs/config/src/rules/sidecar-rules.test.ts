import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsYaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { SidecarSpec } from "../schema/sidecar.ts";
import { checkSidecar } from "./sidecar-rules.ts";

/** Runs the schema (which must pass) and then the rule: [severity, path, message]. */
function issues(spec: unknown, namespace: string | undefined = "bookinfo"): [string, string, string][] {
  const { problems, decoded } = checkValue(SidecarSpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkSidecar(decoded as SidecarSpec, { namespace, name: "default" }).map((i) => [i.severity ?? "error", formatPath(i.path), i.message]);
}

const where = (spec: unknown) => issues(spec).map(([s, p]) => [s, p]);
const egress = (...hosts: string[]) => ({ egress: [{ hosts }] });
const ingress = (listener: Record<string, unknown>) => ({ ingress: [{ port: { number: 9080, protocol: "HTTP", name: "http" }, ...listener }] });

describe("checkSidecar: egress hosts", () => {
  it("accepts ./*, namespace/*, */fqdn, ~/* and *.suffix wildcards", () => {
    expect(issues(egress("./*", "istio-system/*", "*/api.example.com", "~/*", "prod/*.svc.cluster.local"))).toEqual([]);
  });

  it("rejects a host without namespace, suggesting the two forms", () => {
    const [issue] = checkSidecar(checkValue(SidecarSpec, egress("reviews.bookinfo.svc.cluster.local"), ["spec"]).decoded as SidecarSpec, { namespace: "bookinfo", name: "s" });
    expect(issue).toMatchObject({
      name: "InvalidHost",
      path: ["spec", "egress", 0, "hosts", 0],
      hint: 'write "*/reviews.bookinfo.svc.cluster.local" (any namespace) or "./reviews.bookinfo.svc.cluster.local" (this namespace)',
    });
  });

  it("rejects short names, suggesting the FQDN in the Sidecar's namespace", () => {
    const [issue] = checkSidecar(checkValue(SidecarSpec, egress("./reviews"), ["spec"]).decoded as SidecarSpec, { namespace: "bookinfo", name: "s" });
    expect(issue).toMatchObject({ message: 'egress host "./reviews": "reviews" is a short name; egress hosts must be fully qualified', hint: 'write e.g. "./reviews.bookinfo.svc.cluster.local"' });
  });

  it("rejects empty parts, invalid namespaces and partial wildcards", () => {
    expect(where(egress("/*", "Prod_1/*", "istio-system/istio*.svc.cluster.local", "prod/api_v1.example.com"))).toEqual([
      ["error", "spec.egress[0].hosts[0]"],
      ["error", "spec.egress[0].hosts[1]"],
      ["error", "spec.egress[0].hosts[2]"],
      ["error", "spec.egress[0].hosts[3]"],
    ]);
  });

  it("warns about overlapping hosts: duplicates, a host beside its namespace's *, */* beside anything", () => {
    expect(where(egress("prod/a.example.com", "prod/a.example.com"))).toEqual([["warning", "spec.egress[0].hosts[1]"]]);
    expect(where(egress("./*", "bookinfo/reviews.bookinfo.svc.cluster.local"))).toEqual([["warning", "spec.egress[0].hosts[1]"]]);
    expect(where(egress("*/*", "istio-system/*"))).toEqual([["warning", "spec.egress[0].hosts"]]);
  });
});

describe("checkSidecar: listeners", () => {
  it("accepts the reference's Unix socket ingress and port-specific egress", () => {
    expect(
      issues({
        ingress: [{ port: { number: 9080, protocol: "HTTP", name: "somename" }, defaultEndpoint: "unix:///var/run/someuds.sock" }],
        egress: [{ port: { number: 9080, protocol: "HTTP", name: "egresshttp" }, hosts: ["prod-us1/*"] }, { hosts: ["istio-system/*"] }],
      }),
    ).toEqual([]);
  });

  it("rejects a Sidecar that configures nothing (Istio's rule; egress alone is not required)", () => {
    expect(issues({})).toEqual([["error", "spec.egress", "the Sidecar configures nothing"]]);
    expect(issues({ outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } })).toEqual([]);
    expect(issues({ inboundConnectionPool: { http: { http1MaxPendingRequests: 10 } } })).toEqual([]);
  });

  it("accepts the loopback and wildcard default endpoints", () => {
    for (const defaultEndpoint of ["127.0.0.1:8080", "0.0.0.0:8080", "[::1]:8080", "[::]:8080", ":8080"]) {
      expect(issues(ingress({ defaultEndpoint })), defaultEndpoint).toEqual([]);
    }
  });

  it("rejects other default endpoints", () => {
    expect(issues(ingress({ defaultEndpoint: "10.0.0.1:8080" }))).toEqual([
      ["error", "spec.ingress[0].defaultEndpoint", 'defaultEndpoint "10.0.0.1:8080" must point at the loopback or wildcard address, not "10.0.0.1"'],
    ]);
    expect(where(ingress({ defaultEndpoint: "127.0.0.1" }))).toEqual([["error", "spec.ingress[0].defaultEndpoint"]]);
    expect(where(ingress({ defaultEndpoint: "127.0.0.1:http" }))).toEqual([["error", "spec.ingress[0].defaultEndpoint"]]);
    expect(where(ingress({ defaultEndpoint: "unix://relative.sock" }))).toEqual([["error", "spec.ingress[0].defaultEndpoint"]]);
  });

  it("rejects two ingress listeners on one port, port 0, a bad bind and targetPort", () => {
    expect(
      where({
        ingress: [
          { port: { number: 9080, protocol: "HTTP", name: "a" } },
          { port: { number: 9080, protocol: "HTTP", name: "b", targetPort: 8080 }, bind: "localhost" },
          { port: { number: 0, protocol: "HTTP", name: "c" } },
        ],
      }),
    ).toEqual([
      ["error", "spec.ingress[1].port.targetPort"],
      ["error", "spec.ingress[1].bind"],
      ["error", "spec.ingress[1].port.number"],
      ["error", "spec.ingress[2].port.number"],
    ]);
  });

  it("rejects an unknown protocol and a port name that is not a DNS label", () => {
    expect(where({ ingress: [{ port: { number: 9080, protocol: "HTTPX", name: "http_port" } }] })).toEqual([
      ["error", "spec.ingress[0].port.name"],
      ["error", "spec.ingress[0].port.protocol"],
    ]);
  });

  it("requires the egress catch-all listener to be last and single", () => {
    expect(where({ egress: [{ hosts: ["./*"] }, { port: { number: 80, protocol: "HTTP", name: "http" }, hosts: ["istio-system/*"] }] })).toEqual([["error", "spec.egress[0]"]]);
    expect(where({ egress: [{ port: { number: 80, protocol: "HTTP", name: "http" }, hosts: ["a/*"] }, { hosts: ["./*"] }, { hosts: ["b/*"] }] })).toEqual([
      ["error", "spec.egress[1]"],
      ["error", "spec.egress[2]"],
    ]);
  });

  it("rejects duplicate egress ports and sockets", () => {
    const port = { number: 80, protocol: "HTTP", name: "http" };
    expect(where({ egress: [{ port, hosts: ["a/*"] }, { port, hosts: ["b/*"] }] })).toEqual([["error", "spec.egress[1].port.number"]]);
    const uds = { port: { number: 0, protocol: "HTTP", name: "uds" }, bind: "unix:///var/run/e.sock", hosts: ["./*"] };
    expect(where({ egress: [uds, { ...uds, hosts: ["b/*"] }] })).toEqual([["error", "spec.egress[1].bind"]]);
  });

  it("requires a unix:// bind with port 0 and DEFAULT or NONE capture there", () => {
    expect(where({ egress: [{ port: { number: 0, protocol: "HTTP", name: "uds" }, bind: "127.0.0.1", hosts: ["./*"] }] })).toEqual([["error", "spec.egress[0].port.number"]]);
    expect(where({ egress: [{ port: { number: 0, protocol: "HTTP", name: "uds" }, bind: "unix:///s.sock", captureMode: "IPTABLES", hosts: ["./*"] }] })).toEqual([
      ["error", "spec.egress[0].captureMode"],
    ]);
  });
});

describe("checkSidecar: ingress TLS and connection pools", () => {
  it("accepts SIMPLE with certificate files, as in the reference", () => {
    expect(issues(ingress({ tls: { mode: "SIMPLE", privateKey: "/k", serverCertificate: "/c" } }))).toEqual([]);
  });

  it("rejects ISTIO_MUTUAL, credentialName and httpsRedirect, and requires certificates", () => {
    expect(where(ingress({ tls: { mode: "ISTIO_MUTUAL" } }))).toEqual([["error", "spec.ingress[0].tls.mode"]]);
    expect(where(ingress({ tls: { mode: "SIMPLE", credentialName: "c", httpsRedirect: true } }))).toEqual([
      ["error", "spec.ingress[0].tls.httpsRedirect"],
      ["error", "spec.ingress[0].tls.credentialName"],
      ["error", "spec.ingress[0].tls.serverCertificate"],
      ["error", "spec.ingress[0].tls.privateKey"],
    ]);
    expect(where(ingress({ tls: { mode: "MUTUAL", privateKey: "/k", serverCertificate: "/c" } }))).toEqual([["error", "spec.ingress[0].tls.caCertificates"]]);
  });

  it("checks connection pools and warns about HTTP settings on a non-HTTP port", () => {
    expect(where({ ingress: [{ port: { number: 5432, protocol: "TCP", name: "pg" }, connectionPool: { http: { idleTimeout: "0s" } } }] })).toEqual([
      ["error", "spec.ingress[0].connectionPool.http.idleTimeout"],
      ["warning", "spec.ingress[0].connectionPool.http"],
    ]);
    expect(where({ inboundConnectionPool: {} })).toEqual([["error", "spec.inboundConnectionPool"]]);
  });
});

describe("checkSidecar: selector and outbound traffic policy", () => {
  it("warns about a selector without labels and rejects wildcards", () => {
    expect(where({ ...egress("./*"), workloadSelector: {} })).toEqual([["warning", "spec.workloadSelector"]]);
    expect(where({ ...egress("./*"), workloadSelector: { labels: { app: "*" } } })).toEqual([["error", "spec.workloadSelector.labels.app"]]);
  });

  it("accepts an egress proxy with ALLOW_ANY and rejects it otherwise", () => {
    const egressProxy = { host: "proxy.egress.svc.cluster.local", port: { number: 3128 } };
    expect(issues({ outboundTrafficPolicy: { mode: "ALLOW_ANY", egressProxy } })).toEqual([]);
    expect(issues({ outboundTrafficPolicy: { egressProxy } })).toEqual([
      ["error", "spec.outboundTrafficPolicy.egressProxy", "egressProxy only applies with mode ALLOW_ANY, but mode is unset, which means REGISTRY_ONLY here"],
    ]);
  });

  it("requires the egress proxy port and a host without wildcard", () => {
    expect(where({ outboundTrafficPolicy: { mode: "ALLOW_ANY", egressProxy: { host: "*.egress.svc.cluster.local" } } })).toEqual([
      ["error", "spec.outboundTrafficPolicy.egressProxy.host"],
      ["error", "spec.outboundTrafficPolicy.egressProxy.port"],
    ]);
  });
});

describe("testdata/cases with Sidecar resources", () => {
  const dir = join(import.meta.dirname, "../../testdata/cases");
  const files = readdirSync(dir).filter((f) => /^sidecar-.*\.yaml$/.test(f)).sort();

  it("has valid and invalid cases", () => {
    expect(files.filter((f) => f.includes("-invalid-")).length).toBeGreaterThan(1);
    expect(files.filter((f) => !f.includes("-invalid-")).length).toBeGreaterThan(1);
  });

  it.each(files)("%s", (file) => {
    const documents = jsYaml.loadAll(readFileSync(join(dir, file), "utf8")) as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: unknown }[];
    const sidecars = documents.filter((d) => d.kind === "Sidecar");
    expect(sidecars.length).toBeGreaterThan(0);
    for (const doc of sidecars) {
      const { problems, decoded } = checkValue(SidecarSpec, doc.spec ?? {}, ["spec"]);
      const errors = [
        ...problems.map((p) => `${p.name} ${formatPath(p.path)}`),
        ...(problems.length > 0 ? [] : checkSidecar(decoded as SidecarSpec, { namespace: doc.metadata?.namespace, name: doc.metadata?.name ?? "" }))
          .filter((i) => (i.severity ?? "error") === "error")
          .map((i) => `${formatPath(i.path)}: ${i.message}`),
      ];
      if (file.includes("-invalid-")) expect(errors, `${doc.metadata?.name} should be rejected`).not.toEqual([]);
      else expect(errors, `${doc.metadata?.name} should be accepted`).toEqual([]);
    }
  });
});
