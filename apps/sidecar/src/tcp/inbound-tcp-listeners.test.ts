import type { InboundPort } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { inboundTcpPorts } from "./inbound-tcp-listeners.ts";

function port(name: string, targetPort: number, protocol: InboundPort["protocol"]): InboundPort {
  return { port: targetPort - 10000, targetPort, portName: name, protocol, cluster: `inbound|${targetPort}||`, host: "db.default.svc.cluster.local" };
}

const db = port("tcp-db", 15432, "tcp");
const cache = port("tcp-cache", 16379, "tcp");
const web = port("http-web", 18080, "http");

describe("inboundTcpPorts", () => {
  it("listens at each raw TCP port's targetPort, or where listenPortFor says; HTTP ports are not TCP listeners", () => {
    expect([...inboundTcpPorts([db, web, cache], {}).entries()]).toEqual([
      [15432, db],
      [16379, cache],
    ]);
    expect([...inboundTcpPorts([db], { listenPortFor: (p) => p.targetPort + 1 }).keys()]).toEqual([15433]);
  });

  it("a mapped port listens at its --inbound-port-map port, over listenPortFor", () => {
    const wanted = inboundTcpPorts([db, web, cache], { portMap: new Map([[15432, 15100], [18080, 15101]]), listenPortFor: (p) => p.targetPort + 1, appPort: 18080 });
    expect([...wanted.entries()]).toEqual([
      [15100, db],
      [16380, cache],
    ]);
  });

  it("passes a mapped port no config port targets through as raw TCP, unless it is --app-port (the HTTP listeners')", () => {
    const wanted = inboundTcpPorts([db], { portMap: new Map([[15432, 15100], [9090, 15101], [9080, 15102]]), appPort: 9080 });
    expect([...wanted.keys()]).toEqual([15100, 15101]);
    expect(wanted.get(15101)).toEqual({ port: 9090, targetPort: 9090, portName: "passthrough-9090", protocol: "tcp", cluster: "inbound|9090||", host: "" });
    // An HTTP port of the config is the HTTP listeners', mapped or not.
    expect(inboundTcpPorts([web], { portMap: new Map([[18080, 15100]]) }).size).toBe(0);
  });
});
