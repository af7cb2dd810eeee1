import { describe, expect, it } from "vitest";
import { parseResolvConf } from "./parse-resolv-conf.ts";

describe("parseResolvConf", () => {
  it("reads a Kubernetes pod's resolv.conf: nameservers, the search list, options ignored", () => {
    const text = "# written by the kubelet\nsearch default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n";
    expect(parseResolvConf(text)).toEqual({ nameservers: ["10.96.0.10"], search: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"] });
  });

  it("keeps every nameserver in order, the last search line, domain when there is no search, and drops comments and trailing dots", () => {
    expect(parseResolvConf("nameserver 127.0.0.53 ; stub\nnameserver ::1\nsearch a.example\nsearch B.Example. c.example\n")).toEqual({ nameservers: ["127.0.0.53", "::1"], search: ["b.example", "c.example"] });
    expect(parseResolvConf("domain corp.example.\nnameserver 192.0.2.1")).toEqual({ nameservers: ["192.0.2.1"], search: ["corp.example"] });
    expect(parseResolvConf("")).toEqual({ nameservers: [], search: [] });
  });
});
