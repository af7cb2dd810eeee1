import { describe, expect, it } from "vitest";
import { displayKind } from "./display-kind.ts";

describe("displayKind", () => {
  it("names the Gateway API's Gateway by the kind users write and its group", () => {
    expect(displayKind("KubernetesGateway")).toBe("Gateway (gateway.networking.k8s.io)");
  });

  it("leaves every other kind, Istio's Gateway included, as it is", () => {
    expect(displayKind("Gateway")).toBe("Gateway");
    expect(displayKind("HTTPRoute")).toBe("HTTPRoute");
  });
});
