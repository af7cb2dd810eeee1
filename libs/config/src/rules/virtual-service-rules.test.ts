import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import type { FieldIssue } from "../field-issue.ts";
import { parseDocuments } from "../parse-documents.ts";
import { GatewaySpec } from "../schema/gateway.ts";
import { VirtualServiceSpec } from "../schema/virtual-service.ts";
import { checkGateway } from "./gateway-rules.ts";
import { checkVirtualService } from "./virtual-service-rules.ts";

const context = { namespace: "default", name: "vs" };

/** Runs the schema (which must pass) and then the rule. */
function run(spec: unknown, ctx = context): FieldIssue[] {
  const { problems, decoded } = checkValue(VirtualServiceSpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkVirtualService(decoded as VirtualServiceSpec, ctx);
}

/** One line per issue: severity, name, field and message. */
const lines = (spec: unknown, ctx = context) =>
  run(spec, ctx).map((i) => `${i.severity ?? "error"} ${i.name ?? "InvalidValue"} ${formatPath(i.path)}: ${i.message}`);

const to = (host: string, extra: object = {}) => [{ destination: { host, ...extra } }];
const vs = (http: object[], extra: object = {}) => ({ hosts: ["reviews"], http, ...extra });

describe("checkVirtualService", () => {
  it("passes the reference examples without issues", () => {
    expect(lines(vs([{ match: [{ headers: { "end-user": { exact: "jason" } } }], route: to("reviews", { subset: "v2" }) }, { route: to("reviews", { subset: "v1" }) }]))).toEqual([]);
    expect(lines({ hosts: ["*"], gateways: ["bookinfo-gateway"], http: [{ match: [{ uri: { exact: "/productpage" } }], route: to("productpage", { port: { number: 9080 } }) }] })).toEqual([]);
  });

  describe("routes and actions", () => {
    it("requires some routes", () => {
      expect(lines({ hosts: ["reviews"] })).toEqual(["error MissingField spec: the VirtualService has no routes"]);
    });

    it("requires each HTTP route to do something", () => {
      expect(lines(vs([{ name: "r1", timeout: "5s" }]))).toEqual(['error MissingField spec.http[0]: HTTP route "r1" does nothing']);
    });

    it.each([
      [{ route: to("reviews"), redirect: { uri: "/x" } }, 'error ExclusiveFields spec.http[0].redirect: HTTP route sets both "route" and "redirect"'],
      [{ route: to("reviews"), directResponse: { status: 404 } }, 'error ExclusiveFields spec.http[0].directResponse: HTTP route sets both "route" and "directResponse"'],
      [{ redirect: { uri: "/x" }, directResponse: { status: 404 } }, 'error ExclusiveFields spec.http[0].directResponse: HTTP route sets both "redirect" and "directResponse"'],
      [{ route: to("reviews"), delegate: { name: "d" } }, 'error ExclusiveFields spec.http[0].delegate: HTTP route sets both "route" and "delegate"'],
    ])("allows only one of route, redirect, directResponse, delegate (%#)", (http, line) => {
      expect(lines(vs([http]))).toEqual([line]);
    });

    it("rejects fault injection and rewrite on a route that answers directly", () => {
      expect(lines(vs([{ redirect: { uri: "/x" }, fault: { abort: { httpStatus: 500 } }, rewrite: { uri: "/y" } }]))).toEqual([
        "error ExclusiveFields spec.http[0].fault: fault injection does not apply to a redirect",
        "error ExclusiveFields spec.http[0].rewrite: rewrite does not apply to a redirect",
      ]);
    });
  });

  describe("delegates", () => {
    it("accepts a host-less delegate with HTTP routes only", () => {
      expect(lines({ http: [{ route: to("reviews.nsb.svc.cluster.local") }] })).toEqual([]);
    });

    it("rejects gateways, tls and tcp routes on a delegate, and a second level of delegation", () => {
      const issues = run({ gateways: ["gw"], http: [{ delegate: { name: "other" } }], tls: [{ match: [{ sniHosts: ["a.b"] }], route: to("a") }], tcp: [{ route: to("a") }] });
      expect(issues.map((i) => formatPath(i.path))).toEqual([
        "spec.gateways",
        "spec.tls",
        "spec.tcp",
        "spec.http[0].delegate",
        "spec.tls[0].match[0].sniHosts[0]",
      ]);
      expect(issues[0]?.hint).toContain("add hosts if this is not meant as a delegate");
    });

    it("requires the delegate's name", () => {
      expect(lines({ hosts: ["bookinfo.com"], http: [{ delegate: { namespace: "nsa" } }] })).toEqual(["error MissingField spec.http[0].delegate.name: delegate has no name"]);
    });
  });

  describe("hosts and gateways", () => {
    it("rejects malformed hosts, quoting them and saying what is wrong", () => {
      const issues = run({ hosts: ["http://reviews", "prod/reviews.example.com", "foo..bar", "a*.example.com"], http: [{ route: to("reviews") }] });
      expect(issues.map((i) => i.message)).toEqual([
        'host "http://reviews" has an invalid label "http://reviews"',
        'host "prod/reviews.example.com" has an invalid label "prod/reviews"',
        'host "foo..bar" has an empty label (two dots in a row?)',
        'host "a*.example.com" has an invalid label "a*"',
      ]);
      expect(issues.map((i) => i.hint)).toEqual([
        expect.stringContaining("without a scheme"),
        expect.stringContaining("namespace/host form belongs in Gateway"),
        expect.stringContaining("DNS name"),
        expect.stringContaining("wildcard"),
      ]);
      expect(issues.every((i) => i.name === "InvalidHost")).toBe(true);
    });

    it("accepts short names, wildcards, IPs and a trailing dot", () => {
      expect(lines({ hosts: ["reviews", "*.example.com", "10.1.2.3", "istio.io."], gateways: ["gw"], http: [{ route: to("reviews") }] })).toEqual([]);
    });

    it("allows the host * only when bound to gateways", () => {
      expect(lines({ hosts: ["*"], http: [{ route: to("a") }] })).toEqual([
        'error InvalidHost spec.hosts[0]: host "*" is not allowed for a VirtualService applied to sidecars (mesh)',
      ]);
      expect(lines({ hosts: ["*"], gateways: ["gw", "mesh"], http: [{ route: to("a") }] })).toHaveLength(1);
      expect(lines({ hosts: ["*"], gateways: ["istio-system/gw"], http: [{ route: to("a") }] })).toEqual([]);
    });

    it("rejects duplicate and overlapping hosts", () => {
      expect(lines({ hosts: ["a.example.com", "*.example.com", "A.example.com"], gateways: ["gw"], http: [{ route: to("a") }] })).toEqual([
        'error InvalidHost spec.hosts[1]: host "*.example.com" duplicates or overlaps host "a.example.com"',
        'error InvalidHost spec.hosts[2]: host "A.example.com" duplicates or overlaps host "a.example.com"',
        'error InvalidHost spec.hosts[2]: host "A.example.com" duplicates or overlaps host "*.example.com"',
      ]);
    });

    it("checks gateway names and suggests the namespace/name form for legacy names", () => {
      const issues = run({ hosts: ["a.example.com"], gateways: ["my-gateway.istio-system", "ns/Bad_Name", "/gw"], http: [{ route: to("a") }] });
      expect(issues.map((i) => `${i.severity ?? "error"} ${formatPath(i.path)}: ${i.message} | ${i.hint}`)).toEqual([
        'warning spec.gateways[0]: gateway "my-gateway.istio-system" uses the legacy <name>.<namespace> form | write it as "istio-system/my-gateway"',
        'error spec.gateways[1]: gateway "ns/Bad_Name": name "Bad_Name" is not a valid gateway name | gateway names are DNS labels: lowercase letters, digits and \'-\' (no dots)',
        'error spec.gateways[2]: gateway "/gw" has an empty namespace or name | write <namespace>/<name>, e.g. istio-system/my-gateway',
      ]);
    });
  });

  describe("destinations and weights", () => {
    it("requires weights when there are several destinations", () => {
      expect(lines(vs([{ route: [...to("reviews", { subset: "v2" }), ...to("reviews", { subset: "v3" })] }]))).toEqual([
        "error MissingField spec.http[0].route: the 2 destinations have no weights (total weight 0)",
      ]);
    });

    it("warns about a destination left without weight and weights above 100", () => {
      expect(lines(vs([{ route: [{ destination: { host: "reviews", subset: "v2" }, weight: 150 }, { destination: { host: "reviews", subset: "v3" } }] }]))).toEqual([
        "warning InvalidValue spec.http[0].route[0].weight: weight 150 is above 100",
        'warning InvalidValue spec.http[0].route[1]: destination "reviews" has no weight, so it receives no traffic',
      ]);
      expect(lines(vs([{ route: [{ destination: { host: "reviews", subset: "v2" }, weight: 50 }, { destination: { host: "reviews", subset: "v3" }, weight: 50 }] }]))).toEqual([]);
    });

    it("checks destination host, subset and port", () => {
      expect(lines(vs([{ route: [{ destination: { host: "*", subset: "V_1", port: { number: 0 } } }] }]))).toEqual([
        'error InvalidHost spec.http[0].route[0].destination.host: destination host "*" names no service',
        'error InvalidValue spec.http[0].route[0].destination.subset: subset "V_1" is not a valid subset name',
        "error InvalidValue spec.http[0].route[0].destination.port.number: port 0 is not in the range 1..65535",
      ]);
    });
  });

  describe("durations", () => {
    it("requires timeouts of at least 1ms, to millisecond precision", () => {
      expect(lines(vs([{ route: to("reviews"), timeout: "0s" }]))).toEqual(['error InvalidValue spec.http[0].timeout: timeout "0s" is shorter than 1ms']);
      expect(lines(vs([{ route: to("reviews"), timeout: "1500us" }]))).toEqual(['error InvalidValue spec.http[0].timeout: timeout "1500us" is finer than a millisecond']);
      expect(lines(vs([{ route: to("reviews"), retries: { attempts: 1, perTryTimeout: "100us" } }]))).toEqual([
        'error InvalidValue spec.http[0].retries.perTryTimeout: perTryTimeout "100us" is shorter than 1ms',
      ]);
    });

    it("warns when perTryTimeout exceeds the route timeout", () => {
      expect(lines(vs([{ route: to("reviews"), timeout: "1s", retries: { attempts: 3, perTryTimeout: "2s" } }]))).toEqual([
        'warning InvalidValue spec.http[0].retries.perTryTimeout: perTryTimeout "2s" is longer than the route timeout "1s", so no retry can happen in time',
      ]);
    });
  });

  describe("retries", () => {
    it("accepts Envoy conditions, gRPC conditions and HTTP status codes in retryOn", () => {
      expect(lines(vs([{ route: to("reviews"), retries: { attempts: 3, retryOn: "5xx,gateway-error,reset,retriable-4xx,cancelled,unavailable,503,429" } }]))).toEqual([]);
    });

    it("rejects unknown conditions and spaces, suggesting the fix", () => {
      const issues = run(vs([{ route: to("reviews"), retries: { attempts: 3, retryOn: "5xx, reset,connect-failures,600" } }]));
      expect(issues.map((i) => `${i.message} | ${i.hint}`)).toEqual([
        'retryOn " reset" is not a retry condition | remove the spaces: retryOn is a comma-separated list without spaces, e.g. 5xx,reset',
        'retryOn "connect-failures" is not a retry condition | did you mean connect-failure?',
        expect.stringMatching(/^retryOn "600" is not a retry condition \| use 5xx, gateway-error/),
      ]);
    });

    it("rejects retry settings while attempts is 0", () => {
      expect(lines(vs([{ route: to("reviews"), retries: { retryOn: "5xx" } }]))).toEqual([
        "error MissingField spec.http[0].retries.attempts: retry settings are given but attempts is 0 (retries disabled)",
      ]);
      expect(lines(vs([{ route: to("reviews"), retries: { attempts: 0 } }]))).toEqual([]);
    });
  });

  describe("fault injection", () => {
    it("requires a delay or an abort, a delay value and an abort status", () => {
      expect(lines(vs([{ route: to("r"), fault: {} }]))).toEqual(["error MissingField spec.http[0].fault: fault injection has neither delay nor abort"]);
      expect(lines(vs([{ route: to("r"), fault: { delay: { percentage: { value: 5 } }, abort: { percentage: { value: 5 } } } }]))).toEqual([
        "error MissingField spec.http[0].fault.delay: delay has no delay value",
        "error MissingField spec.http[0].fault.abort: abort has no status to answer with",
      ]);
    });

    it("checks statuses and percentages, and flags what Istio does not support", () => {
      const issues = run(
        vs([
          { route: to("r"), fault: { abort: { httpStatus: 199, percentage: { value: 0.00001 } } } },
          { route: to("r"), fault: { abort: { grpcStatus: "not_found" }, delay: { exponentialDelay: "1s" } } },
          { route: to("r"), fault: { abort: { http2Error: "CANCEL" } } },
        ]),
      );
      expect(issues.map((i) => `${formatPath(i.path)}: ${i.message}${i.hint?.startsWith("did you") ? ` | ${i.hint}` : ""}`)).toEqual([
        "spec.http[0].fault.abort.httpStatus: abort httpStatus 199 is not in the range 200..599",
        "spec.http[0].fault.abort.percentage.value: percentage 0.00001 is below the smallest supported share 0.0001",
        "spec.http[1].fault.delay.exponentialDelay: exponentialDelay is not supported yet",
        'spec.http[1].fault.abort.grpcStatus: grpcStatus "not_found" is not a gRPC status name | did you mean NOT_FOUND?',
        "spec.http[2].fault.abort.http2Error: http2Error aborts are not supported yet",
      ]);
    });

    it("warns that the integer delay percent is deprecated", () => {
      expect(run(vs([{ route: to("r"), fault: { delay: { fixedDelay: "1s", percent: 10 } } }]))).toEqual([
        { name: "InvalidValue", path: ["spec", "http", 0, "fault", "delay", "percent"], message: "delay.percent is deprecated", severity: "warning", hint: "use percentage: {value: 10}" },
      ]);
    });
  });

  describe("redirect, directResponse and rewrite", () => {
    it("checks redirect code, scheme and that it changes something", () => {
      expect(lines(vs([{ redirect: { redirectCode: 200 } }, { redirect: { scheme: "ftp", uri: "/" } }]))).toEqual([
        "error MissingField spec.http[0].redirect: redirect changes nothing",
        "error InvalidValue spec.http[0].redirect.redirectCode: redirectCode 200 is not a redirect status",
        'error InvalidValue spec.http[1].redirect.scheme: redirect scheme "ftp" is not http or https',
      ]);
      expect(lines(vs([{ redirect: { scheme: "https", derivePort: "FROM_PROTOCOL_DEFAULT", redirectCode: 308 } }]))).toEqual([]);
    });

    it("refuses the %PREFIX()% marker the Gateway API conversion alone writes in redirect.uri", () => {
      expect(lines(vs([{ redirect: { uri: "%PREFIX()%/new/" } }]))).toEqual([
        'error InvalidValue spec.http[0].redirect.uri: redirect uri "%PREFIX()%/new/" starts with %PREFIX()%, the marker of the Gateway API conversion\'s prefix redirects; a VirtualService cannot use it',
      ]);
      expect(lines(vs([{ redirect: { uri: "/new/%PREFIX()%" } }]))).toEqual([]);
    });

    it("checks directResponse status and body size", () => {
      expect(lines(vs([{ directResponse: { status: 600 } }]))).toEqual(["error InvalidValue spec.http[0].directResponse.status: directResponse status 600 is not in the range 200..599"]);
      expect(lines(vs([{ directResponse: { status: 200, body: { string: "x".repeat(200 * 1024) } } }]))).toEqual([
        "warning InvalidValue spec.http[0].directResponse.body: directResponse body is 204800 bytes; bodies over 100KB slow down config distribution",
      ]);
      expect(lines(vs([{ directResponse: { status: 200, body: { bytes: "QUJD".repeat(400_000) } } }]))).toEqual([
        "error InvalidValue spec.http[0].directResponse.body: directResponse body is 1200000 bytes; at most 1MB allowed",
      ]);
    });

    it("checks rewrites: something to change, uri or uriRegexRewrite, both regex parts, valid RE2", () => {
      expect(lines(vs([{ route: to("r"), rewrite: {} }]))).toEqual(["error MissingField spec.http[0].rewrite: rewrite changes nothing"]);
      expect(lines(vs([{ route: to("r"), rewrite: { uri: "/a", uriRegexRewrite: { match: "(", rewrite: "/b" } } }]))).toEqual([
        'error ExclusiveFields spec.http[0].rewrite.uriRegexRewrite: rewrite sets both "uri" and "uriRegexRewrite"',
        expect.stringMatching(/^error InvalidRegex spec\.http\[0\]\.rewrite\.uriRegexRewrite\.match: uriRegexRewrite\.match regex "\(" does not compile/),
      ]);
      expect(lines(vs([{ route: to("r"), rewrite: { uriRegexRewrite: { match: "^/a" } } }]))).toEqual([
        "error MissingField spec.http[0].rewrite.uriRegexRewrite: uriRegexRewrite needs both match and rewrite",
      ]);
    });

    it("allows the authority to be rewritten in one place only", () => {
      expect(lines(vs([{ route: to("r"), rewrite: { authority: "a.example.com" }, headers: { request: { set: { host: "b.example.com" } } } }]))).toEqual([
        'error InvalidValue spec.http[0].headers.request.set.host: the authority is set twice: "a.example.com" and "b.example.com"',
      ]);
    });
  });

  describe("headers", () => {
    it("checks header operation names and values", () => {
      const issues = lines(
        vs([
          {
            route: to("r"),
            headers: {
              request: { set: { ":path": "/x", "x-ok": "%HOSTNAME%", "x-pct": "100%" }, remove: ["host"] },
              response: { add: { host: "x", "x-bad": "%start_time%" } },
            },
          },
        ]),
      );
      expect(issues).toEqual([
        'error InvalidValue spec.http[0].headers.request.set[":path"]: header ":path" is a pseudo-header and cannot be changed',
        'error InvalidValue spec.http[0].headers.request.set.x-pct: header value "100%" has an unterminated % at position 3',
        'error InvalidValue spec.http[0].headers.request.remove[0]: header "host" cannot be changed here',
        'error InvalidValue spec.http[0].headers.response.add.host: header "host" cannot be changed here',
        'error InvalidValue spec.http[0].headers.response.add.x-bad: header value "%start_time%" has an invalid substitution "%start_time%"',
      ]);
    });

    it("checks per-destination header operations too", () => {
      expect(lines(vs([{ route: [{ destination: { host: "r" }, headers: { response: { remove: [""] } } }] }]))).toEqual([
        "error InvalidValue spec.http[0].route[0].headers.response.remove[0]: header name is empty",
      ]);
    });
  });

  describe("match conditions", () => {
    it("checks header names, empty prefixes and RE2 regexes", () => {
      const issues = run(
        vs([
          {
            route: to("r"),
            match: [
              {
                uri: { prefix: "" },
                headers: { "end user": { exact: "jason" }, "x-a": { prefix: "" }, "x-b": { regex: "(a)\\1" }, ":authority": { exact: "a" } },
                queryParams: { q: { regex: "(?<=a)b" } },
                withoutHeaders: { "x-c": { regex: "*" } },
              },
            ],
          },
        ]),
      );
      expect(issues.map((i) => `${i.name} ${formatPath(i.path)}: ${i.message}`)).toEqual([
        'InvalidValue spec.http[0].match[0].headers["end user"]: header name "end user" is not a valid HTTP header name',
        'InvalidValue spec.http[0].match[0].headers.x-a.prefix: header "x-a" prefix match is empty',
        'InvalidRegex spec.http[0].match[0].headers.x-b.regex: header "x-b" regex "(a)\\\\1" uses a backreference \\1, which RE2 does not support',
        'InvalidRegex spec.http[0].match[0].queryParams.q.regex: query parameter "q" regex "(?<=a)b" uses a lookaround assertion, which RE2 does not support',
      ]);
      expect(issues[2]?.hint).toContain("RE2");
    });

    it("accepts RE2-only syntax: inline flags, named groups, POSIX classes", () => {
      expect(lines(vs([{ route: to("r"), match: [{ headers: { "user-agent": { regex: "(?i).*chrome.*" }, "x-id": { regex: "(?P<id>[[:digit:]]+)\\z" } } }] }]))).toEqual([]);
    });

    it("checks port, source labels, source namespace and per-match gateways", () => {
      expect(lines(vs([{ route: to("r"), match: [{ port: 0, sourceLabels: { "-bad": "v", app: "not valid" }, sourceNamespace: "Not_A_Namespace", gateways: ["a/b/c"] }] }]))).toEqual([
        'error InvalidValue spec.http[0].match[0].sourceLabels["-bad"]: label key "-bad" is not a valid label name',
        'error InvalidValue spec.http[0].match[0].sourceLabels.app: label value "not valid" is not valid',
        'error InvalidValue spec.http[0].match[0].gateways[0]: gateway "a/b/c": name "b/c" is not a valid gateway name',
        'error InvalidValue spec.http[0].match[0].sourceNamespace: sourceNamespace "Not_A_Namespace" is not a valid namespace name',
      ]);
    });

    it("allows JWT claim routing only on gateways", () => {
      const claim = [{ route: to("r"), match: [{ headers: { "@request.auth.claims.groups": { exact: "admin" } } }] }];
      expect(lines(vs(claim))).toEqual([
        'error InvalidValue spec.http[0].match[0].headers["@request.auth.claims.groups"]: JWT claim routing ("@request.auth.claims.groups") only works on gateways',
      ]);
      expect(lines({ hosts: ["a.example.com"], gateways: ["istio-system/gw"], http: claim })).toEqual([]);
    });
  });

  describe("mirrors and CORS", () => {
    it("rejects mirror with mirrors and deprecated percentages above 100", () => {
      expect(lines(vs([{ route: to("r"), mirror: { host: "m" }, mirrors: [{ destination: { host: "n" } }], mirror_percent: 101 }]))).toEqual([
        'error ExclusiveFields spec.http[0].mirrors: HTTP route sets both "mirror" and "mirrors"',
        "error InvalidValue spec.http[0].mirror_percent: mirror_percent 101 is above 100",
        "warning InvalidValue spec.http[0].mirror_percent: mirror_percent is deprecated",
      ]);
    });

    it("warns about a mirror percentage without a mirror", () => {
      expect(lines(vs([{ route: to("r"), mirrorPercentage: { value: 50 } }]))).toEqual([
        "warning InvalidValue spec.http[0].mirrorPercentage: a mirror percentage is set but there is no mirror",
      ]);
    });

    it("checks CORS origins, methods, headers and maxAge", () => {
      expect(
        lines(vs([{ route: to("r"), corsPolicy: { allowOrigins: [{ exact: "" }, { regex: "(?=x)" }], allowMethods: ["get", "*"], allowHeaders: ["*", "x y"], maxAge: "0.5s" } }])),
      ).toEqual([
        "error MissingField spec.http[0].corsPolicy.allowOrigins[0]: allowed origin is empty",
        'error InvalidRegex spec.http[0].corsPolicy.allowOrigins[1].regex: allowOrigins regex "(?=x)" uses a lookaround assertion, which RE2 does not support',
        'error InvalidValue spec.http[0].corsPolicy.allowMethods[0]: "get" is not an HTTP method',
        'error InvalidValue spec.http[0].corsPolicy.allowHeaders[1]: "x y" is not a valid header name',
        'error InvalidValue spec.http[0].corsPolicy.maxAge: maxAge "500ms" is not a whole number of seconds',
      ]);
    });
  });

  describe("TLS and TCP routes", () => {
    const sni = (sniHosts: string[], extra: object = {}) => ({ match: [{ sniHosts, ...extra }], route: to("login.prod.svc.cluster.local") });

    it("requires SNI hosts covered by the VirtualService hosts", () => {
      expect(lines({ hosts: ["*.bookinfo.com"], gateways: ["gw"], tls: [sni(["login.bookinfo.com", "*.reviews.bookinfo.com", "login.example.com"])] })).toEqual([
        'error InvalidHost spec.tls[0].match[0].sniHosts[2]: SNI host "login.example.com" is not one of, or covered by, the VirtualService hosts [*.bookinfo.com]',
      ]);
    });

    it("warns about IP addresses as SNI and accepts AUTO_PASSTHROUGH names on gateways", () => {
      expect(lines({ hosts: ["*"], gateways: ["gw"], tls: [sni(["10.0.0.1", "outbound_.80_._.e2e.foobar.mesh"])] })).toEqual([
        'warning InvalidValue spec.tls[0].match[0].sniHosts[0]: SNI host "10.0.0.1" is an IP address; SNI carries names and most clients never send an IP',
      ]);
    });

    it("requires a match and a route on TLS routes, and checks subnets", () => {
      expect(lines({ hosts: ["a.example.com"], tls: [{ match: [] }, { match: [{ sniHosts: [], destinationSubnets: ["10.0.0.0/33"] }], route: to("a") }] })).toEqual([
        "error MissingField spec.tls[0].match: TLS route has no match",
        "error MissingField spec.tls[0].route: TLS route has no destination",
        "error MissingField spec.tls[1].match[0].sniHosts: TLS match has no SNI hosts",
        'error InvalidValue spec.tls[1].match[0].destinationSubnets[0]: destination subnet "10.0.0.0/33" is not an IP address or CIDR block',
      ]);
    });

    it("requires a route on TCP routes and checks match attributes", () => {
      expect(lines({ hosts: ["mongo"], tcp: [{ match: [{ port: 27017, sourceSubnet: "10.0.0.0/8/8", destinationSubnets: ["::1/128"] }] }] })).toEqual([
        'error InvalidValue spec.tcp[0].match[0].sourceSubnet: sourceSubnet "10.0.0.0/8/8" is not an IP address or CIDR block',
        "error MissingField spec.tcp[0].route: TCP route has no destination",
      ]);
      expect(lines({ hosts: ["mongo"], tcp: [{ route: [{ destination: { host: "a" }, weight: 0 }, { destination: { host: "b" } }] }] })).toEqual([
        "error MissingField spec.tcp[0].route: the 2 destinations have no weights (total weight 0)",
      ]);
    });
  });

  describe("exportTo", () => {
    it("accepts ., * and namespace names", () => {
      expect(lines(vs([{ route: to("r") }], { exportTo: [".", "istio-system"] }))).toEqual([]);
    });

    it("rejects duplicates (including . and the own namespace), * with others, and ~", () => {
      expect(lines(vs([{ route: to("r") }], { exportTo: [".", "default", "~", "*"] }))).toEqual([
        'error InvalidValue spec.exportTo[1]: "default" and "." both name namespace "default"',
        'error InvalidValue spec.exportTo[2]: "~" (export to no one) is only allowed on ServiceEntry',
        'error InvalidValue spec.exportTo[3]: "*" exports to every namespace; other entries make no sense beside it',
      ]);
    });
  });
});

// Data-driven: every VirtualService and Gateway in testdata/cases. Files named *-invalid-* must
// give at least one error per resource; the others none (warnings allowed).
describe("testdata/cases", () => {
  const dir = new URL("../../testdata/cases/", import.meta.url);
  const files = readdirSync(dir).filter((f) => /^(virtual-service|gateway)-.*\.yaml$/.test(f));

  it("has cases to run", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files)("%s", (file) => {
    const text = readFileSync(new URL(file, dir), "utf8");
    expect(text.startsWith("# ")).toBe(true);
    const parsed = parseDocuments(text);
    expect(parsed.syntaxProblems).toEqual([]);
    const resources = parsed.documents.map((d) => d.value as { kind: string; metadata: { name: string; namespace?: string }; spec: unknown }).filter(Boolean);
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) {
      const schema = resource.kind === "Gateway" ? GatewaySpec : VirtualServiceSpec;
      const { problems, decoded } = checkValue(schema, resource.spec, ["spec"]);
      const ctx = { namespace: resource.metadata.namespace, name: resource.metadata.name };
      const errors =
        problems.length > 0
          ? problems.map((p) => p.message)
          : (resource.kind === "Gateway" ? checkGateway(decoded as never, ctx) : checkVirtualService(decoded as never, ctx))
              .filter((i) => i.severity !== "warning")
              .map((i) => i.message);
      if (file.includes("-invalid-")) expect(errors, `${resource.kind} ${resource.metadata.name}`).not.toEqual([]);
      else expect(errors, `${resource.kind} ${resource.metadata.name}`).toEqual([]);
    }
  });
});
