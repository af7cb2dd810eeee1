import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { HTTPFaultInjection, HTTPRetry, HTTPRoute, VirtualServiceSpec, Destination } from "./virtual-service.ts";

const problemsOf = (value: unknown) =>
  checkValue(VirtualServiceSpec, value, ["spec"]).problems.map((p) => ({ name: p.name, at: formatPath(p.path), hint: p.hint }));

const route = [{ destination: { host: "reviews" } }];

describe("VirtualServiceSpec", () => {
  it("decodes the request-timeouts and retries examples: durations become milliseconds", () => {
    const { problems, decoded } = checkValue(
      VirtualServiceSpec,
      {
        hosts: ["reviews"],
        http: [
          {
            route: [{ destination: { host: "reviews", subset: "v2" } }],
            timeout: "0.5s",
            retries: { attempts: 3, perTryTimeout: "2s", retryOn: "gateway-error,connect-failure,refused-stream", backoff: "25ms" },
          },
        ],
      },
      ["spec"],
    );
    expect(problems).toEqual([]);
    expect(decoded).toEqual({
      hosts: ["reviews"],
      http: [
        {
          route: [{ destination: { host: "reviews", subset: "v2" } }],
          timeout: 500,
          retries: { attempts: 3, perTryTimeout: 2000, retryOn: "gateway-error,connect-failure,refused-stream", backoff: 25 },
        },
      ],
    });
  });

  it("decodes fault delays, CORS maxAge and mirror percentages as written, adding no defaults", () => {
    const { problems, decoded } = checkValue(
      VirtualServiceSpec,
      {
        hosts: ["ratings"],
        http: [
          {
            fault: { delay: { percentage: { value: 100.0 }, fixedDelay: "7s" }, abort: { httpStatus: 500, percentage: { value: 0.1 } } },
            corsPolicy: { allowOrigins: [{ exact: "https://example.com" }], allowMethods: ["POST", "GET"], maxAge: "24h", allowCredentials: false },
            mirror: { host: "ratings", subset: "v2" },
            mirrorPercentage: { value: 100.0 },
            route,
          },
        ],
      },
      ["spec"],
    );
    expect(problems).toEqual([]);
    const http = (decoded as VirtualServiceSpec).http?.[0];
    expect(http?.fault).toEqual({ delay: { percentage: { value: 100 }, fixedDelay: 7000 }, abort: { httpStatus: 500, percentage: { value: 0.1 } } });
    expect(http?.corsPolicy?.maxAge).toBe(86_400_000);
    expect(http?.mirrorPercentage).toEqual({ value: 100 });
    expect(http).not.toHaveProperty("timeout");
    expect(http).not.toHaveProperty("retries");
  });

  it("accepts every field of the current API, including deprecated spellings", () => {
    const everything = {
      hosts: ["reviews.prod.svc.cluster.local"],
      gateways: ["mesh", "istio-system/gw"],
      exportTo: ["."],
      http: [
        {
          name: "all",
          match: [
            {
              name: "m",
              uri: { prefix: "/" },
              scheme: { exact: "https" },
              method: { exact: "GET" },
              authority: { regex: "reviews.*" },
              headers: { "end-user": { exact: "jason" } },
              port: 9080,
              sourceLabels: { app: "productpage" },
              gateways: ["mesh"],
              queryParams: { q: { exact: "1" } },
              ignoreUriCase: true,
              withoutHeaders: { "x-debug": { exact: "1" } },
              sourceNamespace: "default",
              statPrefix: "all",
            },
          ],
          route: [{ destination: { host: "reviews", subset: "v1", port: { number: 9080 } }, weight: 100, headers: { request: { set: { a: "1" } } } }],
          rewrite: { uri: "/x", authority: "y", uriRegexRewrite: { match: "^/a", rewrite: "/b" } },
          timeout: "10s",
          retries: { attempts: 1, perTryTimeout: "1s", retryOn: "5xx", retryRemoteLocalities: true, retryIgnorePreviousHosts: false, backoff: "1s" },
          fault: { delay: { exponentialDelay: "1s", percent: 5 }, abort: { http2Error: "CANCEL" } },
          mirror: { host: "reviews" },
          mirrors: [{ destination: { host: "reviews" }, percentage: { value: 1 } }],
          mirrorPercentage: { value: 5 },
          mirrorPercent: 5,
          mirror_percent: 5,
          corsPolicy: {
            allowOrigins: [{ prefix: "https://" }],
            allowOrigin: ["https://a"],
            allowMethods: ["GET"],
            allowHeaders: ["x"],
            exposeHeaders: ["y"],
            maxAge: "1m",
            allowCredentials: true,
            unmatchedPreflights: "FORWARD",
          },
          headers: { request: { add: { a: "b" }, remove: ["c"] }, response: { set: { d: "e" } } },
          delegate: { name: "d", namespace: "n" },
        },
        { redirect: { uri: "/", authority: "a", port: 8080, scheme: "https", redirectCode: 301 } },
        { directResponse: { status: 200, body: { string: "ok" } } },
      ],
      tls: [{ match: [{ sniHosts: ["a.example.com"], destinationSubnets: ["10.0.0.0/8"], port: 443, sourceLabels: { a: "b" }, gateways: ["g"], sourceNamespace: "n" }], route: [{ destination: { host: "a" }, weight: 1 }] }],
      tcp: [{ match: [{ destinationSubnets: ["10.0.0.1"], port: 27017, sourceSubnet: "10.1.0.0/16", sourceLabels: { a: "b" }, gateways: ["g"], sourceNamespace: "n" }], route: [{ destination: { host: "m" } }] }],
    };
    expect(problemsOf(everything)).toEqual([]);
  });

  it("names an unknown field and suggests the field meant", () => {
    expect(problemsOf({ hosts: ["reviews"], http: [{ timout: "5s", route }] })).toEqual([
      { name: "UnknownField", at: "spec.http[0].timout", hint: 'did you mean "timeout"?' },
    ]);
  });

  it("points a field written one level too high to where it belongs", () => {
    expect(problemsOf({ hosts: ["reviews"], http: [{ route: [{ destination: { host: "reviews" }, subset: "v1" }] }] })).toEqual([
      { name: "UnknownField", at: "spec.http[0].route[0].subset", hint: 'did you mean destination.subset? (indent it under "destination")' },
    ]);
  });

  it("rejects an enum value it does not know and suggests the spelling", () => {
    expect(problemsOf({ hosts: ["a"], http: [{ redirect: { derivePort: "from_request_port" } }] })).toEqual([
      { name: "InvalidValue", at: "spec.http[0].redirect.derivePort", hint: "did you mean FROM_REQUEST_PORT?" },
    ]);
    expect(problemsOf({ hosts: ["a"], http: [{ route, corsPolicy: { unmatchedPreflights: "DROP" } }] })[0]).toMatchObject({
      name: "InvalidValue",
      at: "spec.http[0].corsPolicy.unmatchedPreflights",
    });
  });

  it.each([
    ["redirect port and derivePort", { redirect: { port: 80, derivePort: "FROM_REQUEST_PORT" } }, "spec.http[0].redirect.derivePort"],
    ["abort httpStatus and grpcStatus", { route, fault: { abort: { httpStatus: 503, grpcStatus: "UNAVAILABLE" } } }, "spec.http[0].fault.abort.grpcStatus"],
    ["fixedDelay and exponentialDelay", { route, fault: { delay: { fixedDelay: "1s", exponentialDelay: "1s" } } }, "spec.http[0].fault.delay.exponentialDelay"],
    ["body string and bytes", { directResponse: { status: 200, body: { string: "a", bytes: "YQ==" } } }, "spec.http[0].directResponse.body.bytes"],
    ["uri exact and prefix", { route, match: [{ uri: { exact: "/a", prefix: "/a" } }] }, "spec.http[0].match[0].uri.prefix"],
  ])("rejects a protobuf oneof set twice: %s", (_, http, at) => {
    expect(problemsOf({ hosts: ["a"], http: [http] })).toEqual([{ name: "ExclusiveFields", at, hint: expect.stringContaining("keep one of") }]);
  });

  it("requires the fields Istio marks REQUIRED", () => {
    expect(problemsOf({ hosts: ["a"], http: [{ route: [{ destination: { subset: "v1" } }] }] })).toEqual([
      { name: "MissingField", at: "spec.http[0].route[0].destination.host", hint: undefined },
    ]);
    expect(problemsOf({ hosts: ["a"], http: [{ route: [{ weight: 100 }] }] })).toEqual([
      { name: "MissingField", at: "spec.http[0].route[0].destination", hint: undefined },
    ]);
    expect(problemsOf({ hosts: ["a"], tls: [{ route }] })).toEqual([{ name: "MissingField", at: "spec.tls[0].match", hint: undefined }]);
    expect(problemsOf({ hosts: ["a"], tls: [{ match: [{ port: 443 }], route }] })).toEqual([
      { name: "MissingField", at: "spec.tls[0].match[0].sniHosts", hint: undefined },
    ]);
    expect(problemsOf({ hosts: ["a"], http: [{ directResponse: { body: { string: "x" } } }] })).toEqual([
      { name: "MissingField", at: "spec.http[0].directResponse.status", hint: undefined },
    ]);
    expect(problemsOf({ hosts: ["a"], http: [{ route, mirrors: [{ percentage: { value: 5 } }] }] })).toEqual([
      { name: "MissingField", at: "spec.http[0].mirrors[0].destination", hint: undefined },
    ]);
  });

  it("rejects durations that are not Go durations", () => {
    expect(problemsOf({ hosts: ["a"], http: [{ route, timeout: "5 seconds" }] })).toEqual([
      { name: "InvalidDuration", at: "spec.http[0].timeout", hint: expect.stringContaining("250ms") },
    ]);
    expect(problemsOf({ hosts: ["a"], http: [{ route, retries: { attempts: 1, perTryTimeout: 2 } }] })[0]).toMatchObject({
      name: "WrongType",
      at: "spec.http[0].retries.perTryTimeout",
    });
  });

  it("rejects percentages outside 0..100, negative weights and ports above 65535", () => {
    expect(problemsOf({ hosts: ["a"], http: [{ route, mirror: { host: "a" }, mirrorPercentage: { value: 101 } }] })).toEqual([
      { name: "InvalidValue", at: "spec.http[0].mirrorPercentage.value", hint: undefined },
    ]);
    expect(problemsOf({ hosts: ["a"], http: [{ route: [{ destination: { host: "a" }, weight: -1 }] }] })[0]?.at).toBe("spec.http[0].route[0].weight");
    expect(problemsOf({ hosts: ["a"], http: [{ route, match: [{ port: 65536 }] }] })[0]?.at).toBe("spec.http[0].match[0].port");
    expect(problemsOf({ hosts: ["a"], http: [{ route, fault: { delay: { fixedDelay: "1s", percent: 101 } } }] })[0]?.at).toBe(
      "spec.http[0].fault.delay.percent",
    );
  });

  it("rejects a directResponse body.bytes that is not base64", () => {
    expect(problemsOf({ hosts: ["a"], http: [{ directResponse: { status: 200, body: { bytes: "not base64!" } } }] })[0]).toMatchObject({
      name: "InvalidValue",
      at: "spec.http[0].directResponse.body.bytes",
    });
  });

  it("exports the message schemas for use on their own", () => {
    expect(checkValue(HTTPRetry, { attempts: 2, perTryTimeout: "1.5s" }).decoded).toEqual({ attempts: 2, perTryTimeout: 1500 });
    expect(checkValue(HTTPFaultInjection, { delay: { fixedDelay: "5s" } }).decoded).toEqual({ delay: { fixedDelay: 5000 } });
    expect(checkValue(Destination, { host: "reviews", port: { number: 9080 } }).problems).toEqual([]);
    expect(checkValue(HTTPRoute, { route, bogus: 1 }).problems.map((p) => p.name)).toEqual(["UnknownField"]);
  });
});
