import { describe, expect, it } from "vitest";
import { encodeGossipUserEvent, type UserEvent } from "./user-event.ts";
import { UserEvents } from "./user-events.ts";

const event = (fields: Partial<UserEvent>): UserEvent => ({
  id: "b54fe110-7af5-cafc-d1fb-afc8ba432b1c",
  name: "deploy",
  payload: new TextEncoder().encode("v2"),
  nodeFilter: "",
  serviceFilter: "",
  tagFilter: "",
  version: 1,
  ltime: 0,
  ...fields,
});

describe("UserEvents", () => {
  it("without a pool, keeps an event fired here with the next Lamport time", () => {
    const events = new UserEvents({ node: "n1", localServices: () => [] });
    events.fire(event({}));
    events.fire(event({ id: "c54fe110-7af5-cafc-d1fb-afc8ba432b1c", name: "restart" }));
    expect(events.list().map((e) => [e.name, e.ltime, new TextDecoder().decode(e.payload)])).toEqual([
      ["deploy", 1, "v2"],
      ["restart", 2, "v2"],
    ]);
  });

  it("with a pool, hands the encoded event to it and keeps what the pool delivers back", () => {
    const sent: [string, Uint8Array][] = [];
    const events = new UserEvents({ node: "n1", localServices: () => [] });
    events.spreadWith((name, payload) => sent.push([name, payload]));
    events.fire(event({}));
    expect(events.list()).toEqual([]);
    expect(sent.map(([name]) => name)).toEqual(["consul:event:deploy"]);
    const [name, payload] = sent[0] as [string, Uint8Array];
    events.receive(name, payload, 7);
    expect(events.list()).toEqual([event({ ltime: 7 })]);
  });

  it("drops what its filters refuse and gossip events that are not user events", () => {
    const events = new UserEvents({ node: "n1", localServices: () => [{ id: "web-1", service: "web", tags: [] }] });
    for (const fields of [{ nodeFilter: "^n2$" }, { serviceFilter: "db" }, { serviceFilter: "web", tagFilter: "v1" }]) {
      const { name, payload } = encodeGossipUserEvent(event(fields));
      events.receive(name, payload, 1);
    }
    events.receive("other:thing", new Uint8Array(), 2);
    events.receive("consul:event:x", new TextEncoder().encode("not json"), 3);
    const notUuid = encodeGossipUserEvent(event({ id: "not-a-uuid" }));
    events.receive(notUuid.name, notUuid.payload, 3);
    expect(events.list()).toEqual([]);
    const { name, payload } = encodeGossipUserEvent(event({ serviceFilter: "web" }));
    events.receive(name, payload, 4);
    expect(events.list().map((e) => e.ltime)).toEqual([4]);
  });
});
