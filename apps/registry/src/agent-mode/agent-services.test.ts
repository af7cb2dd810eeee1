import { describe, expect, it } from "vitest";
import { AgentSettingsError, checkFromUrl, durationSetting, servicesFromFile, servicesFromFlags } from "./agent-services.ts";

describe("servicesFromFile", () => {
  it("reads Consul's {service} shape with its check, IDs as the agent API names them", () => {
    const text = JSON.stringify({ service: { Name: "web", Port: 8080, Tags: ["v1"], Meta: { version: "1" }, Check: { HTTP: "http://127.0.0.1:8080/healthz", Interval: "5s" } } });
    expect(servicesFromFile(text, "web.json")).toEqual([
      {
        service: { id: "web", service: "web", address: "", port: 8080, tags: ["v1"], meta: { version: "1" } },
        checks: [{ checkId: "service:web", name: "Service 'web' check", serviceId: "web", status: "critical", output: "", type: "http", http: "http://127.0.0.1:8080/healthz", intervalMs: 5000 }],
      },
    ]);
  });

  it("reads {services: [...]}, a bare array and a bare definition", () => {
    const two = [{ Name: "a", Port: 1 }, { ID: "b2", Name: "b", Port: 2 }];
    expect(servicesFromFile(JSON.stringify({ services: two }), "f").map((s) => s.service.id)).toEqual(["a", "b2"]);
    expect(servicesFromFile(JSON.stringify(two), "f").map((s) => s.service.id)).toEqual(["a", "b2"]);
    expect(servicesFromFile(JSON.stringify({ Name: "c", Port: 3 }), "f").map((s) => s.service.id)).toEqual(["c"]);
  });

  it("names the file and the service for bad definitions", () => {
    expect(() => servicesFromFile("{", "svc.json")).toThrow(/--service-file svc.json is not JSON/);
    expect(() => servicesFromFile(JSON.stringify({ services: [{ Name: "a" }, { Port: 1 }] }), "svc.json")).toThrow("--service-file svc.json, service 2: Missing service name: set Name");
    expect(() => servicesFromFile(JSON.stringify({ service: { Name: "a", Check: { HTTP: "http://x/" } } }), "svc.json")).toThrow(/Interval is required for HTTP checks/);
    expect(() => servicesFromFile(JSON.stringify([{ Name: "a" }, { Name: "a" }]), "svc.json")).toThrow(/service ID "a" appears twice/);
    expect(() => servicesFromFile("[]", "svc.json")).toThrow(AgentSettingsError);
  });
});

describe("servicesFromFlags and checkFromUrl", () => {
  it("builds NAME:PORT services and attaches --check URLs to the only one", () => {
    const [web] = servicesFromFlags(["web:8080"], ["http://127.0.0.1:8080/healthz", "tcp://127.0.0.1:8080"], 10_000, 2000);
    expect(web?.service).toEqual({ id: "web", service: "web", address: "", port: 8080, tags: [], meta: {} });
    expect(web?.checks.map((c) => [c.checkId, c.type, c.http ?? c.tcp, c.intervalMs, c.timeoutMs])).toEqual([
      ["service:web:1", "http", "http://127.0.0.1:8080/healthz", 10_000, 2000],
      ["service:web:2", "tcp", "127.0.0.1:8080", 10_000, 2000],
    ]);
  });

  it("takes grpc://HOST:PORT[/SERVICE]", () => {
    const base = { checkId: "c", serviceId: "s", name: "n", intervalMs: 1000 };
    expect(checkFromUrl("grpc://10.0.0.1:9090/shop.Cart", base)).toMatchObject({ type: "grpc", grpc: "10.0.0.1:9090/shop.Cart" });
    expect(checkFromUrl("grpc://10.0.0.1:9090", base)).toMatchObject({ type: "grpc", grpc: "10.0.0.1:9090" });
  });

  it("refuses bad flags with the flag and the expected form", () => {
    expect(() => servicesFromFlags(["web"], [], 1000, undefined)).toThrow('invalid --service "web": use NAME:PORT');
    expect(() => servicesFromFlags(["web:70000"], [], 1000, undefined)).toThrow(/port 1-65535/);
    expect(() => servicesFromFlags(["a:1", "b:2"], ["http://x/"], 1000, undefined)).toThrow(/--check needs exactly one --service/);
    expect(() => servicesFromFlags(["a:1"], ["ftp://x:1/"], 1000, undefined)).toThrow(/scheme ftp:/);
    expect(() => servicesFromFlags(["a:1"], ["tcp://x"], 1000, undefined)).toThrow(/needs a port/);
    expect(() => durationSetting("soon", "--check-interval")).toThrow('invalid --check-interval "soon"');
  });
});
