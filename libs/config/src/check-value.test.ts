import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "./check-value.ts";
import { closed, Duration, mapOf, stringEnum, StringMatch } from "./schema/common.ts";

const Destination = closed({ host: Type.String(), subset: Type.Optional(Type.String()) });
const RouteDestination = closed({ destination: Destination, weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })) });
const Route = closed({
  match: Type.Optional(Type.Array(closed({ headers: Type.Optional(mapOf(StringMatch)) }))),
  route: Type.Optional(Type.Array(RouteDestination, { minItems: 1 })),
  timeout: Type.Optional(Duration()),
  interval: Type.Optional(Duration({ default: "10s" })),
  mode: Type.Optional(stringEnum(["ROUND_ROBIN", "RANDOM"])),
  ports: Type.Optional(Type.Record(Type.String({ pattern: "^[0-9]+$" }), Type.Boolean())),
});

const names = (value: unknown) => checkValue(Route, value, ["spec"]).problems.map((p) => `${p.name} ${formatPath(p.path)}`);

describe("checkValue", () => {
  it("decodes durations to milliseconds and fills documented defaults", () => {
    const { problems, decoded } = checkValue(Route, { timeout: "1.5s", route: [{ destination: { host: "r" } }] });
    expect(problems).toEqual([]);
    expect(decoded).toEqual({ timeout: 1500, interval: 10_000, route: [{ destination: { host: "r" } }] });
  });

  it("does not mutate its input", () => {
    const input = { timeout: "2s" };
    checkValue(Route, input);
    expect(input).toEqual({ timeout: "2s" });
  });

  it("reports an unknown field with the nearest valid name", () => {
    const [problem] = checkValue(Route, { timout: "1s" }).problems;
    expect(problem).toMatchObject({ name: "UnknownField", path: ["timout"], hint: 'did you mean "timeout"?', atKey: true });
  });

  it("says a field written one level too shallow belongs under its empty sibling", () => {
    const { problems } = checkValue(Route, { route: [{ destination: null, host: "reviews", subset: "v2" }] }, ["spec"]);
    expect(problems.map((p) => [p.name, formatPath(p.path), p.hint])).toEqual([
      ["UnknownField", "spec.route[0].host", 'did you mean destination.host? (indent it under "destination")'],
      ["UnknownField", "spec.route[0].subset", 'did you mean destination.subset? (indent it under "destination")'],
      ["MissingField", "spec.route[0].destination", 'indent "host", "subset" under "destination"'],
    ]);
  });

  it("points a stray map key at the empty map beside it", () => {
    const { problems } = checkValue(Route, { match: [{ headers: null, "end-user": { exact: "jason" } }] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ name: "UnknownField", hint: 'did you mean headers.end-user? (indent it under "headers")' });
  });

  it("rejects oneof fields set together", () => {
    expect(names({ match: [{ headers: { a: { exact: "x", prefix: "y" } } }] })).toEqual(["ExclusiveFields spec.match[0].headers.a.prefix"]);
  });

  it("checks types, ranges, list sizes and enum choices", () => {
    expect(names({ route: [] })).toEqual(["InvalidValue spec.route"]);
    expect(names({ route: [{ destination: { host: "a" }, weight: 120 }] })).toEqual(["InvalidValue spec.route[0].weight"]);
    expect(names({ route: [{ destination: { host: "a" }, weight: 1.5 }] })).toEqual(["WrongType spec.route[0].weight"]);
    expect(names({ route: { destination: { host: "a" } } })).toEqual(["WrongType spec.route"]);
    expect(names({ mode: "round_robin" })).toEqual(["InvalidValue spec.mode"]);
    expect(checkValue(Route, { mode: "round_robin" }).problems[0]?.hint).toBe("did you mean ROUND_ROBIN?");
  });

  it("rejects a bad duration, and says to add a unit to a bare number", () => {
    expect(names({ timeout: "10" })).toEqual(["InvalidDuration spec.timeout"]);
    expect(checkValue(Route, { timeout: 10 }).problems[0]).toMatchObject({ name: "WrongType", hint: "add a unit: 10s or 10ms" });
  });

  it("checks map keys against the key pattern", () => {
    expect(names({ ports: { "80": true, http: false } })).toEqual(["InvalidValue spec.ports.http"]);
  });

  it("suggests removing quotes from a quoted number", () => {
    expect(checkValue(Route, { route: [{ destination: { host: "a" }, weight: "50" }] }).problems[0]?.hint).toBe("remove the quotes: 50");
  });
});

describe("formatPath", () => {
  it("renders identifiers with dots, indexes and odd keys in brackets", () => {
    expect(formatPath(["spec", "http", 0, "match", 1, "headers", "end-user"])).toBe("spec.http[0].match[1].headers.end-user");
    expect(formatPath(["spec", "selector", "matchLabels", "app.kubernetes.io/name"])).toBe('spec.selector.matchLabels["app.kubernetes.io/name"]');
  });
});
