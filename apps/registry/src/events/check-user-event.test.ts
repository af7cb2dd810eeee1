import { describe, expect, it } from "vitest";
import { checkUserEvent } from "./check-user-event.ts";
import type { UserEvent } from "./user-event.ts";

const event = (fields: Partial<UserEvent>): UserEvent => ({
  id: "b54fe110-7af5-cafc-d1fb-afc8ba432b1c",
  name: "deploy",
  payload: new Uint8Array(),
  nodeFilter: "",
  serviceFilter: "",
  tagFilter: "",
  version: 1,
  ltime: 0,
  ...fields,
});

describe("checkUserEvent", () => {
  it("accepts an event with valid filters", () => {
    expect(checkUserEvent(event({ nodeFilter: "^web-", serviceFilter: "web|api", tagFilter: "v[0-9]+", payload: new Uint8Array(400) }))).toBeUndefined();
  });

  it("refuses what Consul refuses, in its words", () => {
    expect(checkUserEvent(event({ name: "" }))).toMatch(/^User event missing name/);
    expect(checkUserEvent(event({ tagFilter: "v1" }))).toMatch(/^Cannot provide tag filter without service filter/);
    expect(checkUserEvent(event({ nodeFilter: "(" }))).toMatch(/^Invalid node filter: error parsing regexp: /);
    expect(checkUserEvent(event({ serviceFilter: "a(?=b)" }))).toMatch(/^Invalid service filter: /);
    expect(checkUserEvent(event({ serviceFilter: "web", tagFilter: "[" }))).toMatch(/^Invalid tag filter: /);
  });

  it("refuses an event over serf's 512 bytes before encoding, naming the size", () => {
    expect(checkUserEvent(event({ payload: new Uint8Array(512 - "deploy".length) }))).toBeUndefined();
    expect(checkUserEvent(event({ payload: new Uint8Array(512 - "deploy".length + 1) }))).toMatch(/^user event exceeds configured limit of 512 bytes before encoding \(name, payload and filters are 513 bytes\)/);
  });

  it("refuses an event whose encoding would not fit a gossip packet (filters that JSON escapes)", () => {
    expect(checkUserEvent(event({ nodeFilter: "\u0001".repeat(200) }))).toMatch(/after encoding/);
  });
});
