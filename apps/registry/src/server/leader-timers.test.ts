// The leader's TTL and critical-check bookkeeping against a real RegistryState and a fake clock.
import { describe, expect, it } from "vitest";
import { RegistryState } from "../state/registry-state.ts";
import { LeaderTimers } from "./leader-timers.ts";

function stateWithSession(ttlMs: number): RegistryState {
  const state = new RegistryState();
  state.apply(1, { op: "catalog-register", node: "node-1", address: "10.0.0.1" }, 0);
  const created = state.apply(2, { op: "session-create", id: "s1", name: "lock", node: "node-1", ttlMs, lockDelayMs: 0, behavior: "release", checks: [] }, 0);
  expect(created.ok).toBe(true);
  return state;
}

describe("LeaderTimers", () => {
  it("expires a session twice its TTL after it was first seen, once, and renewals push it back", () => {
    const state = stateWithSession(10_000);
    const timers = new LeaderTimers();
    expect(timers.expiredSessions(state, 1_000)).toEqual([]);
    expect(timers.expiredSessions(state, 20_999)).toEqual([]);
    timers.renew("s1", 10_000, 15_000);
    expect(timers.expiredSessions(state, 34_999)).toEqual([]);
    expect(timers.expiredSessions(state, 35_000)).toEqual(["s1"]);
    // Proposed once; again only if the proposal failed.
    expect(timers.expiredSessions(state, 36_000)).toEqual([]);
    timers.retry("session/s1");
    expect(timers.expiredSessions(state, 36_000)).toEqual(["s1"]);
  });

  it("gives every session a fresh TTL after a reset (a new leader)", () => {
    const state = stateWithSession(10_000);
    const timers = new LeaderTimers();
    timers.expiredSessions(state, 0);
    timers.reset();
    expect(timers.expiredSessions(state, 30_000)).toEqual([]);
    expect(timers.expiredSessions(state, 50_000)).toEqual(["s1"]);
  });

  it("never expires a session without TTL", () => {
    const state = stateWithSession(0);
    const timers = new LeaderTimers();
    timers.expiredSessions(state, 0);
    expect(timers.expiredSessions(state, 10 ** 12)).toEqual([]);
  });

  it("reaps a service whose check stays critical past deregister_critical_service_after", () => {
    const state = new RegistryState();
    const register = state.apply(
      1,
      {
        op: "catalog-register",
        node: "node-1",
        address: "10.0.0.1",
        service: { id: "web-1", service: "web", address: "10.0.0.1", port: 80, tags: [], meta: {} },
        checks: [{ checkId: "web-ttl", name: "web", serviceId: "web-1", status: "critical", output: "", type: "ttl", ttlMs: 10_000, deregisterCriticalAfterMs: 60_000 }],
      },
      0,
    );
    expect(register.ok).toBe(true);
    const timers = new LeaderTimers();
    expect(timers.criticalServices(state, 1_000)).toEqual([]);
    expect(timers.criticalServices(state, 60_999)).toEqual([]);
    expect(timers.criticalServices(state, 61_000)).toEqual([{ node: "node-1", serviceId: "web-1", checkId: "web-ttl" }]);
    expect(timers.criticalServices(state, 62_000)).toEqual([]);
  });

  it("restarts the critical clock when the check passes in between", () => {
    const state = new RegistryState();
    state.apply(
      1,
      {
        op: "catalog-register",
        node: "node-1",
        address: "10.0.0.1",
        service: { id: "web-1", service: "web", address: "10.0.0.1", port: 80, tags: [], meta: {} },
        checks: [{ checkId: "web-ttl", name: "web", serviceId: "web-1", status: "critical", output: "", type: "ttl", ttlMs: 10_000, deregisterCriticalAfterMs: 60_000 }],
      },
      0,
    );
    const timers = new LeaderTimers();
    timers.criticalServices(state, 0);
    state.apply(2, { op: "check-update", node: "node-1", checkId: "web-ttl", status: "passing", output: "" }, 30_000);
    expect(timers.criticalServices(state, 30_000)).toEqual([]);
    state.apply(3, { op: "check-update", node: "node-1", checkId: "web-ttl", status: "critical", output: "" }, 40_000);
    expect(timers.criticalServices(state, 40_000)).toEqual([]);
    expect(timers.criticalServices(state, 99_999)).toEqual([]);
    expect(timers.criticalServices(state, 100_000)).toHaveLength(1);
  });
  it("reads the catalog in one pass per sweep, not one scan per service", () => {
    const state = new RegistryState();
    for (let i = 0; i < 20; i++) {
      state.apply(i + 1, { op: "catalog-register", node: `node-${i % 3}`, address: "10.0.0.1", service: { id: `svc-${i}-a`, service: `svc-${i}`, address: "10.0.0.1", port: 80, tags: [], meta: {} } }, 0);
    }
    state.apply(
      21,
      {
        op: "catalog-register",
        node: "node-1",
        address: "10.0.0.1",
        service: { id: "web-1", service: "web", address: "10.0.0.1", port: 80, tags: [], meta: {} },
        checks: [{ checkId: "web-ttl", name: "web", serviceId: "web-1", status: "critical", output: "", type: "ttl", ttlMs: 10_000, deregisterCriticalAfterMs: 1_000 }],
      },
      0,
    );
    const calls = { serviceInstances: 0, serviceInstancesWhere: 0 };
    const counted = new Proxy(state, {
      get: (target, key) => {
        if (key === "serviceInstances" || key === "serviceInstancesWhere") {
          return (...args: unknown[]) => {
            calls[key] += 1;
            return (target[key] as (...a: unknown[]) => unknown)(...args);
          };
        }
        return Reflect.get(target, key, target);
      },
    });
    const timers = new LeaderTimers();
    expect(timers.criticalServices(counted, 0)).toEqual([]);
    expect(timers.criticalServices(counted, 1_000)).toEqual([{ node: "node-1", serviceId: "web-1", checkId: "web-ttl" }]);
    expect(calls).toEqual({ serviceInstances: 0, serviceInstancesWhere: 2 });
  });
});
