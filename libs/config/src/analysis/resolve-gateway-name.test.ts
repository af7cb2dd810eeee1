import { describe, expect, it } from "vitest";
import { gatewayKey, resolveGatewayName } from "./resolve-gateway-name.ts";

describe("resolveGatewayName", () => {
  it("reads the forms Istio accepts", () => {
    const key = (ref: string) => gatewayKey(resolveGatewayName(ref, "apps"));
    expect(key("mesh")).toBe("mesh");
    expect(key("my-gateway")).toBe("apps/my-gateway");
    expect(key("istio-system/my-gateway")).toBe("istio-system/my-gateway");
    expect(key("./my-gateway")).toBe("apps/my-gateway");
    expect(key("my-gateway.istio-system")).toBe("istio-system/my-gateway");
    expect(key("my-gateway.istio-system.svc.cluster.local")).toBe("istio-system/my-gateway");
  });
});
