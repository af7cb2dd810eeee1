import { trustBundles } from "@meshwork/pki";
import { describe, expect, it } from "vitest";
import type { IdentitySource, TlsIdentity } from "../tls/tls-identity.ts";
import { defaultDiscoveryIdentity, discoveryTls } from "./discovery-tls.ts";

function source(identity: TlsIdentity | undefined): IdentitySource {
  return { current: () => identity, onChange: () => () => undefined, close: () => undefined };
}

const identity: TlsIdentity = {
  spiffeId: "spiffe://cluster.local/ns/default/sa/reviews",
  certPem: "CERT",
  keyPem: "KEY",
  caPem: "ROOTS",
  bundles: trustBundles(),
  notAfter: new Date(0),
  serialHex: "01",
};

describe("discoveryTls", () => {
  it("expects the control plane's SPIFFE ID by default", () => {
    expect(defaultDiscoveryIdentity("example.org")).toBe("spiffe://example.org/ns/istio-system/sa/control-plane");
  });

  it("reads the current identity at every connect: its chain and key, the roots, the server's trust domain as TLS name", () => {
    let current: TlsIdentity = identity;
    const tls = discoveryTls({ ...source(identity), current: () => current }, defaultDiscoveryIdentity("cluster.local"));
    expect(tls()).toMatchObject({ certPem: "CERT", keyPem: "KEY", caPem: "ROOTS", serverName: "cluster.local" });
    current = { ...identity, certPem: "RENEWED" };
    expect(tls().certPem).toBe("RENEWED");
  });

  it("refuses a server certificate that is no SVID, and throws while there is no identity yet", () => {
    const tls = discoveryTls(source(identity), defaultDiscoveryIdentity("cluster.local"));
    expect(tls().checkServerIdentity("cp", { raw: Buffer.from([1, 2, 3]) } as never)).toBeInstanceOf(Error);
    expect(() => discoveryTls(source(undefined), defaultDiscoveryIdentity("cluster.local"))()).toThrow(/holds no certificate yet/);
  });
});
