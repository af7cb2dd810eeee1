import { describe, expect, it } from "vitest";
import { defaultTopology, parseTopology } from "./local-mesh-topology.ts";

describe("parseTopology", () => {
  it("keeps the defaults for an empty file and overrides the fields given", () => {
    expect(parseTopology(null, "mesh.yaml")).toEqual({ ok: true, topology: defaultTopology });
    expect(parseTopology({ registryServers: 1, bookinfo: false, basePort: 30000 }, "mesh.yaml")).toEqual({ ok: true, topology: { ...defaultTopology, registryServers: 1, bookinfo: false, basePort: 30000 } });
  });

  it("names the file, the field and what it accepts", () => {
    expect(parseTopology({ registryServers: 2 }, "mesh.yaml")).toEqual({ ok: false, message: 'mesh.yaml: invalid registryServers 2; expected registryServers: 1, 3 or 5' });
    expect(parseTopology({ basePort: 65300 }, "mesh.yaml")).toMatchObject({ ok: false, message: expect.stringContaining("room for 500 ports") });
    expect(parseTopology({ registry: 3 }, "mesh.yaml")).toMatchObject({ ok: false, message: expect.stringContaining('unknown field "registry"') });
    expect(parseTopology([1], "mesh.yaml")).toMatchObject({ ok: false, message: expect.stringContaining("expected a mapping") });
    expect(parseTopology({ otlpEndpoint: "collector:4318" }, "mesh.yaml")).toMatchObject({ ok: false, message: expect.stringContaining("invalid otlpEndpoint") });
    expect(parseTopology({ otlpEndpoint: "http://127.0.0.1:4318/v1/traces" }, "mesh.yaml")).toMatchObject({ ok: true, topology: { otlpEndpoint: "http://127.0.0.1:4318/v1/traces" } });
  });
});
