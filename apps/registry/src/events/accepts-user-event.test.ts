import { describe, expect, it } from "vitest";
import { acceptsUserEvent } from "./accepts-user-event.ts";

const services = [
  { id: "web-1", service: "web", tags: ["v1", "primary"] },
  { id: "cache", service: "redis", tags: [] },
];
const filters = (nodeFilter: string, serviceFilter: string, tagFilter: string) => ({ nodeFilter, serviceFilter, tagFilter });

describe("acceptsUserEvent", () => {
  it.each([
    ["no filters", filters("", "", ""), true],
    ["node filter matching (unanchored)", filters("node", "", ""), true],
    ["node filter not matching", filters("^db-", "", ""), false],
    ["service filter on a name", filters("", "^web$", ""), true],
    ["service filter on an id", filters("", "^cache$", ""), true],
    ["service filter matching nothing", filters("", "^db$", ""), false],
    ["service and tag filters", filters("", "web", "^primary$"), true],
    ["tag filter on another service's tags", filters("", "redis", "primary"), false],
    ["a filter that does not compile", filters("(", "", ""), false],
  ])("%s → %s", (_what, event, expected) => {
    expect(acceptsUserEvent(event, "web-node-1", services)).toBe(expected);
  });

  it("a service filter refuses an agent without services", () => {
    expect(acceptsUserEvent(filters("", ".*", ""), "n1", [])).toBe(false);
  });
});
