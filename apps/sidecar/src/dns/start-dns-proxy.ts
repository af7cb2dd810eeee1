// The sidecar's DNS proxy (Istio's "smart DNS proxy", istio-agent's LocalDNSServer): UDP and TCP on
// one port, on each --dns-bind address (@meshwork/protocol/dns-server; Istio's agent listens on
// localhost in both families, the injector asks for 127.0.0.1,::1 in dual-stack pods). Names of
// the mesh are answered from the name table of the config in force (built on the first query after
// a config change, never while DNS proxying is off; a headless service's answer is its endpoints
// of that config, so it follows endpoint changes); other names, and reverse lookups, are relayed to
// the upstream resolvers. Loaded by start-sidecar.ts only when --dns-port or --dns-capture asks for it.
// Malformed queries get FORMERR when their header is readable; nothing a client sends can crash it.
import { readFile } from "node:fs/promises";
import * as net from "node:net";
import { serveDnsSockets } from "@meshwork/protocol/dns-server";
import { decodeHeader, decodeMessage, DNS_RCODE, DNS_TYPE, DNS_UDP_MAX, encodeMessage, fitResponse, type DnsMessage } from "@meshwork/protocol/dns-wire";
import { buildNameTable, type BuildNameTableOptions, type NameTable, type ProxyConfig } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { answerDnsQuery, errorResponse } from "./answer-dns-query.ts";
import { forwardDnsQuery } from "./forward-dns-query.ts";
import { formatListenAddress, parseDnsBind } from "./parse-dns-bind.ts";
import { parseDnsUpstream, type DnsUpstream } from "./parse-dns-upstream.ts";
import { parseResolvConf } from "./parse-resolv-conf.ts";

export interface DnsProxyOptions {
  /** --dns-bind: the addresses to listen on, all on `port` (checked: IP addresses, each once). */
  readonly hosts: readonly string[];
  /** 0 picks a port free for UDP and TCP on every address. */
  readonly port: number;
  /** --dns-upstream; empty: the nameservers of `resolvConf`. */
  readonly upstreams: readonly string[];
  /** resolv.conf path: upstream nameservers (unless `upstreams`) and search domains. */
  readonly resolvConf: string;
  readonly nameTable: BuildNameTableOptions;
  /** Per upstream resolver (default 2.5 s; Istio's agent uses miekg/dns's 2 s per step). */
  readonly upstreamTimeoutMs?: number;
  /** TCP connections idle this long are closed (default 30 s). */
  readonly tcpIdleMs?: number;
  readonly logger: Logger;
}

export interface DnsProxy {
  readonly port: number;
  /** Where it listens, `host:port` per --dns-bind address (`[::1]:15053`), in their order. */
  readonly addresses: readonly string[];
  /** The config whose services are answered from the next query on. */
  setConfig(config: ProxyConfig): void;
  /** The name table in force, for the admin pages (built if needed); undefined before the first config. */
  nameTable(): NameTable | undefined;
  readonly upstreams: readonly DnsUpstream[];
  readonly searchDomains: readonly string[];
  /** The admin view (`/dns_table`, config_dump's `dns`): upstreams, search domains and the table's hosts with their names and addresses. */
  dump(): DnsTableDump;
  /** Counters for /stats: `dns.requests`, `dns.answered_locally`, `dns.upstream_requests`, `dns.upstream_failures`, `dns.malformed`. */
  stats(): [string, number][];
  close(): Promise<void>;
}

export interface DnsTableDump {
  /** Every address it listens on (UDP and TCP), e.g. ["127.0.0.1:15053", "[::1]:15053"]. */
  readonly listening: readonly string[];
  readonly upstreams: readonly string[];
  readonly searchDomains: readonly string[];
  /** The config version the table is built from; null before the first config. */
  readonly version: string | null;
  /**
   * By host, as Istio's NameTable: its addresses and the names that answer with them; `headless`
   * when the addresses are endpoints' (`service`: a host without addresses, `pod`: `<hostname>.<host>`).
   */
  readonly hosts: Readonly<
    Record<string, { readonly ips: readonly string[]; readonly names: readonly string[]; readonly serviceEntry: string; readonly autoAllocated: boolean; readonly headless?: "service" | "pod" }>
  >;
}

/** Largest UDP payload we send, whatever EDNS0 says (IPv4's UDP maximum). */
const udpPayloadLimit = 65_507;
/** Queries being forwarded at once; more are answered SERVFAIL at once rather than queued. */
const maxForwarding = 512;

export async function startDnsProxy(options: DnsProxyOptions): Promise<DnsProxy> {
  const logger = options.logger;
  const bind = parseDnsBind(options.hosts);
  if (!bind.ok) throw new Error(bind.message);
  let resolv = { nameservers: [] as readonly string[], search: [] as readonly string[] };
  try {
    resolv = parseResolvConf(await readFile(options.resolvConf, "utf8"));
  } catch (error) {
    logger.warn("dns proxy: resolv.conf not read; no search domains", { path: options.resolvConf, err: error });
  }
  const upstreams: DnsUpstream[] = [];
  const sources = options.upstreams.length > 0 ? options.upstreams.map((text) => [text, "--dns-upstream"] as const) : resolv.nameservers.map((text) => [text, options.resolvConf] as const);
  for (const [text, source] of sources) {
    const parsed = parseDnsUpstream(text, source);
    if (!parsed.ok) {
      if (source === "--dns-upstream") throw new Error(parsed.message);
      logger.warn("dns proxy: nameserver skipped", { detail: parsed.message });
      continue;
    }
    upstreams.push(parsed.upstream);
  }
  if (upstreams.length === 0) logger.warn("dns proxy: no upstream resolver; names outside the mesh get SERVFAIL", { fix: `give --dns-upstream HOST[:PORT] or nameservers in ${options.resolvConf}` });

  const counts = { requests: 0, local: 0, upstream: 0, failures: 0, malformed: 0 };
  let forwarding = 0;
  let config: ProxyConfig | undefined;
  let built: { readonly config: ProxyConfig; readonly table: NameTable } | undefined;
  const nameTable = (): NameTable | undefined => {
    if (config === undefined) return undefined;
    if (built?.config !== config) built = { config, table: buildNameTable(config.services, { ...options.nameTable, clusters: config.clusters }) };
    return built.table;
  };
  const timeoutMs = options.upstreamTimeoutMs ?? 2_500;

  /** The response bytes for one query, or undefined to send nothing. */
  const handle = async (packet: Uint8Array, tcp: boolean): Promise<Uint8Array | undefined> => {
    counts.requests++;
    let request: DnsMessage;
    try {
      request = decodeMessage(packet);
    } catch (error) {
      counts.malformed++;
      const header = decodeHeader(packet);
      if (header === undefined || header.flags.qr) return undefined;
      logger.debug("dns proxy: malformed query answered FORMERR", { error: error instanceof Error ? error.message : String(error) });
      return encodeMessage(errorResponse({ id: header.id, flags: header.flags, questions: [], additionals: [] }, DNS_RCODE.FORMERR));
    }
    if (request.flags.qr) return undefined;
    const opt = request.additionals.find((r) => r.type === DNS_TYPE.OPT);
    const limit = tcp ? 0xffff : Math.min(udpPayloadLimit, Math.max(DNS_UDP_MAX, opt?.class ?? DNS_UDP_MAX));
    try {
      const decision = answerDnsQuery(request, nameTable(), resolv.search);
      if (decision.type === "answer") {
        counts.local++;
        return fitResponse(decision.response, limit);
      }
    } catch (error) {
      // An address or name DNS cannot carry (a bug, or a config it should have refused): SERVFAIL, not a crash.
      logger.warn("dns proxy: query failed", { name: request.questions[0]?.name ?? "", err: error });
      return fitResponse(errorResponse(request, DNS_RCODE.SERVFAIL), limit);
    }
    counts.upstream++;
    if (forwarding >= maxForwarding) {
      counts.failures++;
      return fitResponse(errorResponse(request, DNS_RCODE.SERVFAIL), limit);
    }
    forwarding++;
    try {
      const forwarded = await forwardDnsQuery(packet, { upstreams, tcp, timeoutMs });
      if (forwarded.ok) return forwarded.response;
      counts.failures++;
      logger.debug("dns proxy: no upstream answered; SERVFAIL", { name: request.questions[0]?.name ?? "", errors: forwarded.errors });
      return fitResponse(errorResponse(request, DNS_RCODE.SERVFAIL), limit);
    } finally {
      forwarding--;
    }
  };

  const serve = (packet: Uint8Array, tcp: boolean): Promise<Uint8Array | undefined> =>
    handle(packet, tcp).catch((error: unknown) => {
      logger.warn("dns proxy: query dropped", { err: error });
      return undefined;
    });

  const sockets = await serveDnsSockets({ host: bind.hosts, port: options.port, tcpIdleMs: options.tcpIdleMs ?? 30_000, answer: serve });
  const port = sockets.port;
  const addresses = bind.hosts.map((host) => formatListenAddress(host, port));
  logger.info("dns proxy listening", { addresses, upstreams: upstreams.map((u) => `${u.host}:${u.port}`), search: resolv.search });
  return {
    port,
    addresses,
    upstreams,
    searchDomains: resolv.search,
    setConfig: (next) => {
      config = next;
    },
    nameTable,
    dump: () => {
      const table = nameTable();
      const hosts: Record<string, DnsTableDump["hosts"][string]> = {};
      for (const entry of table?.entries ?? []) hosts[entry.host] = {
          ips: [...entry.ipv4, ...entry.ipv6],
          names: entry.names,
          serviceEntry: entry.serviceEntry,
          autoAllocated: entry.autoAllocated,
          ...(entry.headless === undefined ? {} : { headless: entry.headless }),
        };
      return {
        listening: addresses,
        upstreams: upstreams.map((u) => `${net.isIPv6(u.host) ? `[${u.host}]` : u.host}:${u.port}`),
        searchDomains: resolv.search,
        version: config?.version ?? null,
        hosts,
      };
    },
    stats: () => [
      ["dns.requests", counts.requests],
      ["dns.answered_locally", counts.local],
      ["dns.upstream_requests", counts.upstream],
      ["dns.upstream_failures", counts.failures],
      ["dns.malformed", counts.malformed],
    ],
    close: () => sockets.close(),
  };
}
