import { describe, expect, it } from "vitest";
import { buildCaptureRules, CaptureOptionsError } from "./capture-rules.ts";

describe("buildCaptureRules", () => {
  it("redirects inbound to 15006 and outbound to 15001, except the sidecar's UID/GID, loopback and its own ports", () => {
    expect(buildCaptureRules({ proxyUid: 1337 })).toBe(
      [
        "*nat",
        ":MESHWORK_INBOUND - [0:0]",
        ":MESHWORK_IN_REDIRECT - [0:0]",
        ":MESHWORK_OUTPUT - [0:0]",
        ":MESHWORK_REDIRECT - [0:0]",
        "-A MESHWORK_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006",
        "-A MESHWORK_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
        "-A PREROUTING -p tcp -j MESHWORK_INBOUND",
        "-A MESHWORK_INBOUND -p tcp --dport 15000 -j RETURN",
        "-A MESHWORK_INBOUND -p tcp --dport 15020 -j RETURN",
        "-A MESHWORK_INBOUND -p tcp --dport 15021 -j RETURN",
        "-A MESHWORK_INBOUND -p tcp --dport 15090 -j RETURN",
        "-A MESHWORK_INBOUND -p tcp --dport 15006 -j RETURN",
        "-A MESHWORK_INBOUND -p tcp --dport 15001 -j RETURN",
        "-A MESHWORK_INBOUND -p tcp -j MESHWORK_IN_REDIRECT",
        "-A OUTPUT -p tcp -j MESHWORK_OUTPUT",
        "-A MESHWORK_OUTPUT -m owner --uid-owner 1337 -j RETURN",
        "-A MESHWORK_OUTPUT -m owner --gid-owner 1337 -j RETURN",
        "-A MESHWORK_OUTPUT -d 127.0.0.1/32 -j RETURN",
        "-A MESHWORK_OUTPUT -j MESHWORK_REDIRECT",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });

  it("captures only the listed inbound ports and skips excluded outbound ports and ranges", () => {
    const rules = buildCaptureRules({ proxyUid: 1337, proxyGid: 1338, inboundPorts: [9080, 15020, 9080], excludeOutboundPorts: [5432], excludeOutboundCidrs: ["169.254.169.254/32"], inboundPort: 16006, outboundPort: 16001 });
    expect(rules).toContain("-A MESHWORK_INBOUND -p tcp --dport 9080 -j MESHWORK_IN_REDIRECT\n");
    expect(rules).not.toContain("--dport 15020 -j MESHWORK_IN_REDIRECT");
    expect(rules.match(/--dport 9080/g)).toHaveLength(1);
    expect(rules).not.toContain("-A MESHWORK_INBOUND -p tcp -j MESHWORK_IN_REDIRECT");
    expect(rules).toContain("-A MESHWORK_OUTPUT -p tcp --dport 5432 -j RETURN\n");
    expect(rules).toContain("-A MESHWORK_OUTPUT -d 169.254.169.254/32 -j RETURN\n");
    expect(rules).toContain("--gid-owner 1338");
    expect(rules).toContain("REDIRECT --to-ports 16006");
    expect(rules).toContain("REDIRECT --to-ports 16001");
    // Exclusions come before the catch-all redirect.
    expect(rules.indexOf("--dport 5432 -j RETURN")).toBeLessThan(rules.indexOf("-A MESHWORK_OUTPUT -j MESHWORK_REDIRECT"));
  });

  it("rejects options that would break capture, naming the field and the fix", () => {
    expect(() => buildCaptureRules({ proxyUid: 0 })).toThrow(/proxyUid 0 \(root\).*own non-root UID/);
    expect(() => buildCaptureRules({ proxyUid: 1337, excludeOutboundPorts: [70000] })).toThrow(CaptureOptionsError);
    expect(() => buildCaptureRules({ proxyUid: 1337, excludeOutboundPorts: [70000] })).toThrow(/excludeOutboundPorts: 70000 is not a TCP port/);
    expect(() => buildCaptureRules({ proxyUid: 1337, excludeOutboundCidrs: ["10.0.0.0"] })).toThrow(/"10.0.0.0" is not an IPv4 CIDR: write it as a.b.c.d\/n/);
    expect(() => buildCaptureRules({ proxyUid: 1337, excludeOutboundCidrs: ["10.0.0.300/8"] })).toThrow(/IPv4 CIDR/);
  });

  it("with DNS capture, redirects the pod's UDP and TCP port-53 traffic to the DNS port, except the sidecar's own UID/GID", () => {
    const rules = buildCaptureRules({ proxyUid: 1337, proxyGid: 1338, dnsPort: 15053 }).split("\n");
    expect(rules).toContain(":MESHWORK_OUTPUT_DNS - [0:0]");
    expect(rules.filter((line) => line.includes("MESHWORK_OUTPUT_DNS") && !line.startsWith(":"))).toEqual([
      "-A OUTPUT -p udp --dport 53 -j MESHWORK_OUTPUT_DNS",
      "-A MESHWORK_OUTPUT -p tcp --dport 53 -j MESHWORK_OUTPUT_DNS",
      "-A MESHWORK_OUTPUT_DNS -m owner --uid-owner 1337 -j RETURN",
      "-A MESHWORK_OUTPUT_DNS -m owner --gid-owner 1338 -j RETURN",
      "-A MESHWORK_OUTPUT_DNS -p udp -j REDIRECT --to-ports 15053",
      "-A MESHWORK_OUTPUT_DNS -p tcp -j REDIRECT --to-ports 15053",
    ]);
    // TCP DNS: after the sidecar's own exemptions, before the loopback one (a resolver on 127.0.0.1 is captured too).
    const at = (line: string): number => rules.indexOf(line);
    expect(at("-A MESHWORK_OUTPUT -m owner --gid-owner 1338 -j RETURN")).toBeLessThan(at("-A MESHWORK_OUTPUT -p tcp --dport 53 -j MESHWORK_OUTPUT_DNS"));
    expect(at("-A MESHWORK_OUTPUT -p tcp --dport 53 -j MESHWORK_OUTPUT_DNS")).toBeLessThan(at("-A MESHWORK_OUTPUT -d 127.0.0.1/32 -j RETURN"));
    expect(at("-A MESHWORK_OUTPUT_DNS -m owner --uid-owner 1337 -j RETURN")).toBeLessThan(at("-A MESHWORK_OUTPUT_DNS -p udp -j REDIRECT --to-ports 15053"));
    expect(at("COMMIT")).toBe(rules.length - 2);
  });

  it("captures no DNS without dnsPort, and refuses DNS capture with port 53 excluded", () => {
    expect(buildCaptureRules({ proxyUid: 1337 })).not.toMatch(/DNS|--dport 53|udp/);
    expect(() => buildCaptureRules({ proxyUid: 1337, dnsPort: 15053, excludeOutboundPorts: [53] })).toThrow(/excludeOutboundPorts has 53 while DNS capture is on: remove 53/);
    expect(() => buildCaptureRules({ proxyUid: 1337, dnsPort: 0 })).toThrow(/dnsPort: 0 is not a TCP port/);
  });
});
