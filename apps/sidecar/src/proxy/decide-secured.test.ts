import { loadResources, type MeshResource } from "@meshwork/config";
import { compileAuthorization } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { isHeadError, parseRequestHead, type RequestHead } from "../http1/parse-request-head.ts";
import { decideSecured, type SecurityCounters } from "./decide-secured.ts";
import { InboundSecurity, type InboundPeer } from "./inbound-security.ts";
import type { Decision, ForwardDecision } from "./route-request.ts";

function head(path: string): RequestHead {
  const parsed = parseRequestHead(Buffer.from(`GET ${path} HTTP/1.1\r\nhost: httpbin.example.com\r\n\r\n`));
  if (parsed === undefined || isHeadError(parsed)) throw new Error("bad test request");
  return parsed;
}

const denyAdmin = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: istio-system }
spec:
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin"] } }] }]
`;

function guard(): InboundSecurity {
  const loaded = loadResources([{ path: "p.yaml", text: denyAdmin }]);
  const engine = compileAuthorization(loaded.resources as MeshResource<"AuthorizationPolicy">[], { namespace: "istio-system", labels: {} }, { rootNamespace: "istio-system", trustDomain: "cluster.local" });
  return new InboundSecurity({ authn: undefined, authz: { engine, providers: new Map() } });
}

function counting(): { counters: SecurityCounters; counts: Record<string, number> } {
  const counts = { rbacAllowed: 0, rbacDenied: 0, jwtDenied: 0 };
  const counter = (name: keyof typeof counts) => ({ inc: () => void (counts[name] += 1) });
  return { counts, counters: { rbacAllowed: counter("rbacAllowed"), rbacDenied: counter("rbacDenied"), jwtDenied: counter("jwtDenied") } };
}

const forward = { type: "forward", requestHeaders: [], responseHeaders: [] } as unknown as ForwardDecision;
const peer: InboundPeer = { sourceIp: "10.0.0.1", principal: undefined, destinationPort: 8080 };

describe("decideSecured", () => {
  it("routes without asking for the peer when no policy applies", () => {
    const { counters, counts } = counting();
    let peerAsked = false;
    const decision = decideSecured(undefined, head("/admin"), { peer: () => ((peerAsked = true), peer), counters, route: () => forward });
    expect(decision).toBe(forward);
    expect(peerAsked).toBe(false);
    expect(counts).toEqual({ rbacAllowed: 0, rbacDenied: 0, jwtDenied: 0 });
  });

  it("answers a denial with Istio's 403 without routing, and counts it", () => {
    const { counters, counts } = counting();
    let routed = false;
    const decision = decideSecured(guard(), head("/admin"), { peer: () => peer, counters, route: (): Decision => ((routed = true), forward) });
    expect(decision).toMatchObject({ type: "reply", status: 403, body: "RBAC: access denied", details: "rbac_access_denied_matched_policy[ns[istio-system]-policy[deny-admin]-rule[0]]" });
    expect(routed).toBe(false);
    expect(counts).toEqual({ rbacAllowed: 0, rbacDenied: 1, jwtDenied: 0 });
  });

  it("routes an allowed request and counts it", () => {
    const { counters, counts } = counting();
    expect(decideSecured(guard(), head("/headers"), { peer: () => peer, counters, route: () => forward })).toBe(forward);
    expect(counts).toEqual({ rbacAllowed: 1, rbacDenied: 0, jwtDenied: 0 });
  });
});
