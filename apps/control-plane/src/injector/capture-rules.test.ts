import { describe, expect, it } from "vitest";
import { buildCaptureRules, CaptureOptionsError, planInboundPortMap } from "./capture-rules.ts";

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
    expect(() => buildCaptureRules({ proxyUid: 1337, excludeOutboundCidrs: ["10.0.0.0"] })).toThrow(/"10.0.0.0" is not an IPv4 or IPv6 CIDR: write it as a.b.c.d\/n or x:x::x\/n/);
    expect(() => buildCaptureRules({ proxyUid: 1337, excludeOutboundCidrs: ["10.0.0.300/8"] })).toThrow(/IPv4 or IPv6 CIDR/);
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

  it("redirects each mapped container port to its own listener, after the exclusions and before the shared inbound port", () => {
    const rules = buildCaptureRules({ proxyUid: 1337, inboundPortMap: new Map([[9080, 15100], [9443, 15101], [5432, 15102]]), excludeInboundPorts: [5432] }).split("\n");
    const inbound = rules.filter((line) => line.startsWith("-A MESHWORK_INBOUND "));
    expect(inbound.slice(-3)).toEqual([
      "-A MESHWORK_INBOUND -p tcp --dport 9080 -j REDIRECT --to-ports 15100",
      "-A MESHWORK_INBOUND -p tcp --dport 9443 -j REDIRECT --to-ports 15101",
      "-A MESHWORK_INBOUND -p tcp -j MESHWORK_IN_REDIRECT",
    ]);
    // The excluded port keeps its RETURN and gets no redirect; the listeners' own ports are not captured again.
    expect(inbound).toContain("-A MESHWORK_INBOUND -p tcp --dport 5432 -j RETURN");
    expect(rules.join("\n")).not.toContain("--dport 5432 -j REDIRECT");
    expect(inbound).toContain("-A MESHWORK_INBOUND -p tcp --dport 15100 -j RETURN");
    expect(inbound).toContain("-A MESHWORK_INBOUND -p tcp --dport 15101 -j RETURN");
    expect(inbound).not.toContain("-A MESHWORK_INBOUND -p tcp --dport 15102 -j RETURN");
  });

  it("with listed inbound ports, a mapped port goes to its listener, another listed port to the shared one, an unlisted mapped port nowhere", () => {
    const rules = buildCaptureRules({ proxyUid: 1337, inboundPorts: [9080, 7070], inboundPortMap: new Map([[9080, 15100], [9443, 15101]]) });
    expect(rules).toContain("-A MESHWORK_INBOUND -p tcp --dport 9080 -j REDIRECT --to-ports 15100\n-A MESHWORK_INBOUND -p tcp --dport 7070 -j MESHWORK_IN_REDIRECT\n");
    expect(rules).not.toContain("9443");
    expect(rules).not.toContain("15101");
  });

  it("refuses a map whose listener takes the sidecar's ports, a mapped container port or another entry's listener", () => {
    expect(() => buildCaptureRules({ proxyUid: 1337, inboundPortMap: new Map([[9080, 15020]]) })).toThrow(/inboundPortMap: 9080→15020 takes a port of the sidecar's own.*from 15100 up/);
    expect(() => buildCaptureRules({ proxyUid: 1337, inboundPortMap: new Map([[9080, 15006]]) })).toThrow(CaptureOptionsError);
    expect(() => buildCaptureRules({ proxyUid: 1337, dnsPort: 15053, inboundPortMap: new Map([[9080, 15053]]) })).toThrow(/takes a port of the sidecar's own/);
    expect(() => buildCaptureRules({ proxyUid: 1337, inboundPortMap: new Map([[9080, 9443], [9443, 15101]]) })).toThrow(/listens on the captured container port 9443/);
    expect(() => buildCaptureRules({ proxyUid: 1337, inboundPortMap: new Map([[9080, 15100], [9443, 15100]]) })).toThrow(/share the listener port 15100/);
    expect(() => buildCaptureRules({ proxyUid: 1337, inboundPortMap: new Map([[9080, 70000]]) })).toThrow(/inboundPortMap: 70000 is not a TCP port/);
  });
});

describe("planInboundPortMap", () => {
  it("gives each captured container port the next free port from 15100, in port order, skipping the pod's and the sidecar's ports", () => {
    expect([...planInboundPortMap([9443, 9080, 15101, 9080], { proxyUid: 1337 })]).toEqual([
      [9080, 15100],
      [9443, 15102],
      [15101, 15103],
    ]);
    // Deterministic: the same pod gives the same map, whatever the order of its ports.
    expect(planInboundPortMap([15101, 9080, 9443], { proxyUid: 1337 })).toEqual(planInboundPortMap([9443, 9080, 15101], { proxyUid: 1337 }));
  });

  it("leaves out what is not captured: excluded ports, the sidecar's own, ports outside includeInboundPorts", () => {
    expect([...planInboundPortMap([9080, 9443, 5432, 15020], { proxyUid: 1337, excludeInboundPorts: [5432] }).keys()]).toEqual([9080, 9443]);
    expect([...planInboundPortMap([9080, 9443], { proxyUid: 1337, inboundPorts: [9443] })]).toEqual([[9443, 15100]]);
    expect(planInboundPortMap([9080], { proxyUid: 1337, inboundPorts: [] }).size).toBe(0);
    expect([...planInboundPortMap([9080], { proxyUid: 1337, excludeInboundPorts: [15100] })]).toEqual([[9080, 15101]]);
    expect([...planInboundPortMap([9080], { proxyUid: 1337, dnsPort: 15100 })]).toEqual([[9080, 15101]]);
  });

  it("runs out of ports with a clear error", () => {
    expect(() => planInboundPortMap([9080, 9443], { proxyUid: 1337 }, 65535)).toThrow(/no free port from 65535 for the inbound listener of container port 9443/);
    expect(() => planInboundPortMap([0], { proxyUid: 1337 })).toThrow(/containerPorts: 0 is not a TCP port/);
  });
});

describe("buildCaptureRules for ip6tables (family ipv6)", () => {
  it("emits the IPv4 chains with ::1/128 as the loopback exemption, as istio-iptables' ip6tables rules", () => {
    expect(buildCaptureRules({ proxyUid: 1337, family: "ipv6" })).toBe(
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
        "-A MESHWORK_OUTPUT -d ::1/128 -j RETURN",
        "-A MESHWORK_OUTPUT -j MESHWORK_REDIRECT",
        "COMMIT",
        "",
      ].join("\n"),
    );
    // The two sets differ in the loopback line only.
    const v4 = buildCaptureRules({ proxyUid: 1337 }).split("\n");
    const v6 = buildCaptureRules({ proxyUid: 1337, family: "ipv6" }).split("\n");
    expect(v6.filter((line) => !v4.includes(line))).toEqual(["-A MESHWORK_OUTPUT -d ::1/128 -j RETURN"]);
    expect(buildCaptureRules({ proxyUid: 1337, family: "ipv4" })).toBe(buildCaptureRules({ proxyUid: 1337 }));
  });

  it("splits the excluded ranges by family: IPv4 ones in iptables, IPv6 ones in ip6tables (istio-iptables' separateV4V6)", () => {
    const options = { proxyUid: 1337, excludeOutboundCidrs: ["169.254.169.254/32", "fd00:ec2::254/128", "10.0.0.0/8", "2001:db8::/32"] };
    const exclusions = (rules: string): string[] => rules.split("\n").filter((line) => /^-A MESHWORK_OUTPUT -d .* -j RETURN$/.test(line));
    expect(exclusions(buildCaptureRules(options))).toEqual(["-A MESHWORK_OUTPUT -d 127.0.0.1/32 -j RETURN", "-A MESHWORK_OUTPUT -d 169.254.169.254/32 -j RETURN", "-A MESHWORK_OUTPUT -d 10.0.0.0/8 -j RETURN"]);
    expect(exclusions(buildCaptureRules({ ...options, family: "ipv6" }))).toEqual(["-A MESHWORK_OUTPUT -d ::1/128 -j RETURN", "-A MESHWORK_OUTPUT -d fd00:ec2::254/128 -j RETURN", "-A MESHWORK_OUTPUT -d 2001:db8::/32 -j RETURN"]);
  });

  it("keeps the excluded ports, the DNS capture and the per-port REDIRECTs in the IPv6 set, before its catch-all redirects", () => {
    const rules = buildCaptureRules({ proxyUid: 1337, proxyGid: 1338, family: "ipv6", excludeOutboundPorts: [5432], excludeInboundPorts: [7070], dnsPort: 15053, inboundPortMap: new Map([[9080, 15100], [9443, 15101]]) }).split("\n");
    const at = (line: string): number => {
      expect(rules).toContain(line);
      return rules.indexOf(line);
    };
    expect(at("-A MESHWORK_INBOUND -p tcp --dport 7070 -j RETURN")).toBeLessThan(at("-A MESHWORK_INBOUND -p tcp --dport 9080 -j REDIRECT --to-ports 15100"));
    expect(at("-A MESHWORK_INBOUND -p tcp --dport 15101 -j RETURN")).toBeLessThan(at("-A MESHWORK_INBOUND -p tcp --dport 9443 -j REDIRECT --to-ports 15101"));
    expect(at("-A MESHWORK_INBOUND -p tcp --dport 9443 -j REDIRECT --to-ports 15101")).toBeLessThan(at("-A MESHWORK_INBOUND -p tcp -j MESHWORK_IN_REDIRECT"));
    expect(at("-A MESHWORK_OUTPUT -p tcp --dport 5432 -j RETURN")).toBeLessThan(at("-A MESHWORK_OUTPUT -j MESHWORK_REDIRECT"));
    // TCP DNS is taken before the ::1 exemption, so a resolver on ::1 is captured too.
    expect(at("-A MESHWORK_OUTPUT -m owner --gid-owner 1338 -j RETURN")).toBeLessThan(at("-A MESHWORK_OUTPUT -p tcp --dport 53 -j MESHWORK_OUTPUT_DNS"));
    expect(at("-A MESHWORK_OUTPUT -p tcp --dport 53 -j MESHWORK_OUTPUT_DNS")).toBeLessThan(at("-A MESHWORK_OUTPUT -d ::1/128 -j RETURN"));
    expect(rules.filter((line) => line.startsWith("-A MESHWORK_OUTPUT_DNS ") || line.startsWith("-A OUTPUT "))).toEqual([
      "-A OUTPUT -p tcp -j MESHWORK_OUTPUT",
      "-A OUTPUT -p udp --dport 53 -j MESHWORK_OUTPUT_DNS",
      "-A MESHWORK_OUTPUT_DNS -m owner --uid-owner 1337 -j RETURN",
      "-A MESHWORK_OUTPUT_DNS -m owner --gid-owner 1338 -j RETURN",
      "-A MESHWORK_OUTPUT_DNS -p udp -j REDIRECT --to-ports 15053",
      "-A MESHWORK_OUTPUT_DNS -p tcp -j REDIRECT --to-ports 15053",
    ]);
    expect(rules.join("\n")).not.toContain("127.0.0.1");
  });

  it("checks every range whatever the family, naming the fix", () => {
    for (const bad of ["fd00::/129", "fd00::", "fd00:::1/64", "/64", "10.0.0.0/33"]) {
      expect(() => buildCaptureRules({ proxyUid: 1337, family: "ipv6", excludeOutboundCidrs: [bad] })).toThrow(new RegExp(`excludeOutboundCidrs: "${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}" is not an IPv4 or IPv6 CIDR`));
    }
    // An IPv4 range in the IPv6 set's options is valid (it belongs to the other set), and the reverse.
    expect(buildCaptureRules({ proxyUid: 1337, family: "ipv6", excludeOutboundCidrs: ["10.0.0.0/8"] })).not.toContain("10.0.0.0/8");
    expect(buildCaptureRules({ proxyUid: 1337, excludeOutboundCidrs: ["fd00::/8"] })).not.toContain("fd00::/8");
    expect(() => buildCaptureRules({ proxyUid: 0, family: "ipv6" })).toThrow(/proxyUid 0 \(root\)/);
  });
});
