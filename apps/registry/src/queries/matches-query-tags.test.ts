import { describe, expect, it } from "vitest";
import { matchesQueryTags } from "./matches-query-tags.ts";

describe("matchesQueryTags", () => {
  it.each([
    [["primary", "v1"], [], true],
    [["primary", "v1"], ["primary"], true],
    [["Primary"], ["PRIMARY"], true],
    [["primary"], ["primary", "v1"], false],
    [["primary", "experimental"], ["primary", "!experimental"], false],
    [["primary"], ["primary", "!experimental"], true],
    [["Experimental"], ["!experimental"], false],
    [[], ["!experimental"], true],
  ])("service tags %j, query tags %j → %s", (serviceTags, queryTags, expected) => {
    expect(matchesQueryTags(serviceTags, queryTags)).toBe(expected);
  });
});
