// The iptables rules that send a pod's TCP traffic through its sidecar (DESIGN.md §3.5), as
// iptables-restore input for the nat table: inbound connections → the inbound port (15006),
// outbound connections → the outbound port (15001), and with DNS capture the pod's DNS queries
// (UDP and TCP port 53) → the sidecar's DNS proxy (15053), as istio-iptables' SetupDNSRedir does.
// The sidecar's own connections (its UID/GID), loopback destinations and the sidecar's own ports
// are left alone, so nothing loops. Pure: the injected init container pipes the text into
// `iptables-restore --noflush`.

export interface CaptureOptions {
  /** UID the sidecar runs as; its outbound connections are not captured. */
  readonly proxyUid: number;
  /** GID the sidecar runs as (default: proxyUid). */
  readonly proxyGid?: number;
  /** Where inbound connections are redirected (default 15006). */
  readonly inboundPort?: number;
  /** Where outbound connections are redirected (default 15001). */
  readonly outboundPort?: number;
  /** Inbound ports to capture: "*" (every port but the excluded ones, the default) or a list. */
  readonly inboundPorts?: "*" | readonly number[];
  /** Inbound ports never captured, besides the sidecar's own (sidecarPorts). */
  readonly excludeInboundPorts?: readonly number[];
  /** Outbound destination ports never captured. */
  readonly excludeOutboundPorts?: readonly number[];
  /** Outbound destination ranges never captured (IPv4 CIDRs, e.g. 169.254.169.254/32). */
  readonly excludeOutboundCidrs?: readonly string[];
  /** The sidecar's own listening ports (admin, stats, gateway health), never captured inbound. */
  readonly sidecarPorts?: readonly number[];
  /**
   * DNS capture (proxyMetadata ISTIO_META_DNS_CAPTURE): the pod's UDP and TCP traffic to port 53,
   * except the sidecar's own (its upstream queries), goes to this port of the sidecar's DNS proxy
   * (Istio's 15053), whatever resolver it was addressed to (istio-iptables' CAPTURE_ALL_DNS: the
   * rules are written at injection, before the pod's resolv.conf exists). Unset: DNS is not captured.
   */
  readonly dnsPort?: number;
}

/** Istio's layout: 15000 admin, 15020 stats/health, 15021 gateway health, 15090 Envoy prometheus. */
export const defaultSidecarPorts: readonly number[] = [15000, 15020, 15021, 15090];

export const captureChains = {
  inbound: "MESHWORK_INBOUND",
  inboundRedirect: "MESHWORK_IN_REDIRECT",
  output: "MESHWORK_OUTPUT",
  outboundRedirect: "MESHWORK_REDIRECT",
  outputDns: "MESHWORK_OUTPUT_DNS",
} as const;

/** Thrown for options that would produce rules iptables rejects or that capture nothing sensible. */
export class CaptureOptionsError extends Error {
  override readonly name = "CaptureOptionsError";
}

/** iptables-restore input (nat table only) that captures the pod's traffic; apply with --noflush. */
export function buildCaptureRules(options: CaptureOptions): string {
  const inboundPort = options.inboundPort ?? 15006;
  const outboundPort = options.outboundPort ?? 15001;
  const proxyGid = options.proxyGid ?? options.proxyUid;
  checkId("proxyUid", options.proxyUid);
  checkId("proxyGid", proxyGid);
  if (options.proxyUid === 0) throw new CaptureOptionsError("proxyUid 0 (root) would exempt every root process from capture: run the sidecar as its own non-root UID (Istio's is 1337)");
  checkPort("inboundPort", inboundPort);
  checkPort("outboundPort", outboundPort);
  const excludeInbound = unique([...(options.sidecarPorts ?? defaultSidecarPorts), inboundPort, outboundPort, ...(options.excludeInboundPorts ?? [])]);
  excludeInbound.forEach((p) => checkPort("excludeInboundPorts", p));
  const excludeOutbound = unique(options.excludeOutboundPorts ?? []);
  excludeOutbound.forEach((p) => checkPort("excludeOutboundPorts", p));
  const cidrs = unique(options.excludeOutboundCidrs ?? []);
  cidrs.forEach(checkCidr);
  const inboundPorts = options.inboundPorts ?? "*";
  if (inboundPorts !== "*") inboundPorts.forEach((p) => checkPort("inboundPorts", p));
  const dnsPort = options.dnsPort;
  if (dnsPort !== undefined) {
    checkPort("dnsPort", dnsPort);
    if (excludeOutbound.includes(53)) throw new CaptureOptionsError("excludeOutboundPorts has 53 while DNS capture is on: remove 53 from the excluded ports, or turn ISTIO_META_DNS_CAPTURE off");
  }

  const { inbound, inboundRedirect, output, outboundRedirect, outputDns } = captureChains;
  const lines = ["*nat", `:${inbound} - [0:0]`, `:${inboundRedirect} - [0:0]`, `:${output} - [0:0]`, `:${outboundRedirect} - [0:0]`];
  if (dnsPort !== undefined) lines.push(`:${outputDns} - [0:0]`);
  lines.push(`-A ${inboundRedirect} -p tcp -j REDIRECT --to-ports ${inboundPort}`);
  lines.push(`-A ${outboundRedirect} -p tcp -j REDIRECT --to-ports ${outboundPort}`);

  // Inbound: connections arriving at the pod from outside (PREROUTING).
  lines.push(`-A PREROUTING -p tcp -j ${inbound}`);
  if (inboundPorts === "*") {
    for (const port of excludeInbound) lines.push(`-A ${inbound} -p tcp --dport ${port} -j RETURN`);
    lines.push(`-A ${inbound} -p tcp -j ${inboundRedirect}`);
  } else {
    for (const port of unique(inboundPorts).filter((p) => !excludeInbound.includes(p))) lines.push(`-A ${inbound} -p tcp --dport ${port} -j ${inboundRedirect}`);
  }

  // Outbound: connections the pod's processes open (OUTPUT), except the sidecar's own.
  lines.push(`-A OUTPUT -p tcp -j ${output}`);
  // DNS over UDP never reaches the TCP chain: its own jump. TCP DNS is taken before the loopback
  // exemption, so a resolver on 127.0.0.x is captured too (istio-iptables excludes port 53 there).
  if (dnsPort !== undefined) lines.push(`-A OUTPUT -p udp --dport 53 -j ${outputDns}`);
  lines.push(`-A ${output} -m owner --uid-owner ${options.proxyUid} -j RETURN`);
  lines.push(`-A ${output} -m owner --gid-owner ${proxyGid} -j RETURN`);
  if (dnsPort !== undefined) lines.push(`-A ${output} -p tcp --dport 53 -j ${outputDns}`);
  lines.push(`-A ${output} -d 127.0.0.1/32 -j RETURN`);
  for (const port of excludeOutbound) lines.push(`-A ${output} -p tcp --dport ${port} -j RETURN`);
  for (const cidr of cidrs) lines.push(`-A ${output} -d ${cidr} -j RETURN`);
  lines.push(`-A ${output} -j ${outboundRedirect}`);
  if (dnsPort !== undefined) {
    // The sidecar's own queries (to the upstream resolvers) go out as they are.
    lines.push(`-A ${outputDns} -m owner --uid-owner ${options.proxyUid} -j RETURN`);
    lines.push(`-A ${outputDns} -m owner --gid-owner ${proxyGid} -j RETURN`);
    lines.push(`-A ${outputDns} -p udp -j REDIRECT --to-ports ${dnsPort}`);
    lines.push(`-A ${outputDns} -p tcp -j REDIRECT --to-ports ${dnsPort}`);
  }
  lines.push("COMMIT");
  return `${lines.join("\n")}\n`;
}

function checkId(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) throw new CaptureOptionsError(`${name} ${value} is not a valid user/group id: use a non-negative integer such as 1337`);
}

function checkPort(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new CaptureOptionsError(`${name}: ${value} is not a TCP port: use an integer from 1 to 65535`);
}

function checkCidr(cidr: string): void {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const ok = match !== null && match.slice(1, 5).every((o) => Number(o) <= 255) && Number(match[5]) <= 32;
  if (!ok) throw new CaptureOptionsError(`excludeOutboundCidrs: "${cidr}" is not an IPv4 CIDR: write it as a.b.c.d/n, e.g. 169.254.169.254/32`);
}

function unique(values: readonly number[]): number[];
function unique(values: readonly string[]): string[];
function unique(values: readonly (number | string)[]): (number | string)[] {
  return [...new Set(values)];
}
