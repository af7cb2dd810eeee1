// DNS messages (RFC 1035 §4) as plain objects, and their wire format written by hand: decode with
// full bounds checks (compression pointers only backwards, names ≤ 255 octets, labels ≤ 63), encode
// with name compression of owner names, CNAME targets and SOA names (RFC 1035 §4.1.4; not SRV
// targets, RFC 2782). Pure: no I/O. Shared by the registry's DNS interface and the sidecar's DNS
// proxy through `@meshwork/protocol/dns-wire`.

export const DNS_TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const DNS_CLASS_IN = 1;
export const DNS_RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const DNS_OPCODE_QUERY = 0;
/** Largest DNS message over UDP without EDNS0 (RFC 1035 §4.2.1). */
export const DNS_UDP_MAX = 512;

export interface DnsFlags {
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  /** The 3 bits between RA and RCODE (Z, AD, CD), kept as they came. */
  readonly z: number;
  readonly rcode: number;
}

export interface DnsQuestion {
  /** Labels joined by "."; no trailing dot; "" is the root. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export type DnsRecordData =
  | { readonly kind: "a"; readonly address: string }
  | { readonly kind: "aaaa"; readonly address: string }
  /** RFC 1035 §3.3.1: the canonical name `name` is an alias of. */
  | { readonly kind: "cname"; readonly target: string }
  | { readonly kind: "srv"; readonly priority: number; readonly weight: number; readonly port: number; readonly target: string }
  | {
      readonly kind: "soa";
      readonly mname: string;
      readonly rname: string;
      readonly serial: number;
      readonly refresh: number;
      readonly retry: number;
      readonly expire: number;
      readonly minimum: number;
    }
  /** Any other type (and OPT): the RDATA bytes as they are. */
  | { readonly kind: "raw"; readonly bytes: Uint8Array };

export interface DnsRecord {
  readonly name: string;
  readonly type: number;
  /** The class; for OPT (EDNS0) the requester's UDP payload size. */
  readonly class: number;
  /** Seconds; for OPT the extended RCODE, version and flags. */
  readonly ttl: number;
  readonly data: DnsRecordData;
}

export interface DnsMessage {
  readonly id: number;
  readonly flags: DnsFlags;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

/** A message that is not valid DNS wire format; `offset` is where decoding stopped. */
export class DnsFormatError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`malformed DNS message at byte ${offset}: ${message}`);
    this.name = "DnsFormatError";
    this.offset = offset;
  }
}

const MAX_NAME_OCTETS = 255;
const MAX_LABEL_OCTETS = 63;

// ---------------------------------------------------------------- decode

class Reader {
  offset = 0;
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  need(count: number, what: string): void {
    if (this.offset + count > this.bytes.length) throw new DnsFormatError(`${what} runs past the end (${this.bytes.length} bytes)`, this.offset);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++] as number;
  }
  u16(what: string): number {
    this.need(2, what);
    const value = ((this.bytes[this.offset] as number) << 8) | (this.bytes[this.offset + 1] as number);
    this.offset += 2;
    return value;
  }
  u32(what: string): number {
    this.need(4, what);
    const value = (this.u16(what) * 0x10000) + this.u16(what);
    return value;
  }
}

/** Reads a (possibly compressed) name starting at `reader.offset`; leaves the offset after it. */
function readName(reader: Reader): string {
  const bytes = reader.bytes;
  const labels: string[] = [];
  let octets = 1;
  let at = reader.offset;
  let resumeAt = -1;
  /** Pointers must go strictly backwards: that bounds the loop and rules out cycles. */
  let limit = at;
  for (;;) {
    if (at >= bytes.length) throw new DnsFormatError("name runs past the end", at);
    const length = bytes[at] as number;
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= bytes.length) throw new DnsFormatError("compression pointer runs past the end", at);
      const target = ((length & 0x3f) << 8) | (bytes[at + 1] as number);
      if (target >= limit) throw new DnsFormatError(`compression pointer to ${target} does not point backwards`, at);
      if (resumeAt < 0) resumeAt = at + 2;
      limit = target;
      at = target;
      continue;
    }
    if ((length & 0xc0) !== 0) throw new DnsFormatError(`unsupported label type 0x${length.toString(16)}`, at);
    if (length === 0) {
      reader.offset = resumeAt >= 0 ? resumeAt : at + 1;
      return labels.join(".");
    }
    if (at + 1 + length > bytes.length) throw new DnsFormatError("label runs past the end", at);
    octets += length + 1;
    if (octets > MAX_NAME_OCTETS) throw new DnsFormatError(`name longer than ${MAX_NAME_OCTETS} octets`, at);
    let label = "";
    for (let i = at + 1; i <= at + length; i++) label += String.fromCharCode(bytes[i] as number);
    // Names are dotted strings here, so a "." inside a label cannot be told apart: refused.
    if (label.includes(".")) throw new DnsFormatError("label contains a '.'", at);
    labels.push(label);
    at += 1 + length;
  }
}

function readQuestion(reader: Reader): DnsQuestion {
  const name = readName(reader);
  return { name, type: reader.u16("question type"), class: reader.u16("question class") };
}

function formatIpv6(bytes: Uint8Array, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[at + i] as number) << 8) | (bytes[at + i + 1] as number)).toString(16));
  return groups.join(":");
}

function readRecord(reader: Reader): DnsRecord {
  const name = readName(reader);
  const type = reader.u16("record type");
  const klass = reader.u16("record class");
  const ttl = reader.u32("record TTL");
  const length = reader.u16("RDLENGTH");
  reader.need(length, "RDATA");
  const start = reader.offset;
  const end = start + length;
  const bytes = reader.bytes;
  let data: DnsRecordData;
  if (type === DNS_TYPE.A && klass === DNS_CLASS_IN) {
    if (length !== 4) throw new DnsFormatError(`A record RDATA of ${length} bytes (want 4)`, start);
    data = { kind: "a", address: `${bytes[start]}.${bytes[start + 1]}.${bytes[start + 2]}.${bytes[start + 3]}` };
    reader.offset = end;
  } else if (type === DNS_TYPE.AAAA && klass === DNS_CLASS_IN) {
    if (length !== 16) throw new DnsFormatError(`AAAA record RDATA of ${length} bytes (want 16)`, start);
    data = { kind: "aaaa", address: formatIpv6(bytes, start) };
    reader.offset = end;
  } else if (type === DNS_TYPE.CNAME) {
    data = { kind: "cname", target: readName(reader) };
  } else if (type === DNS_TYPE.SRV && klass === DNS_CLASS_IN) {
    const priority = reader.u16("SRV priority");
    const weight = reader.u16("SRV weight");
    const port = reader.u16("SRV port");
    data = { kind: "srv", priority, weight, port, target: readName(reader) };
  } else if (type === DNS_TYPE.SOA) {
    const mname = readName(reader);
    const rname = readName(reader);
    data = {
      kind: "soa",
      mname,
      rname,
      serial: reader.u32("SOA serial"),
      refresh: reader.u32("SOA refresh"),
      retry: reader.u32("SOA retry"),
      expire: reader.u32("SOA expire"),
      minimum: reader.u32("SOA minimum"),
    };
  } else {
    data = { kind: "raw", bytes: bytes.slice(start, end) };
    reader.offset = end;
  }
  if (reader.offset !== end) throw new DnsFormatError(`RDATA is ${length} bytes but its fields take ${reader.offset - start}`, start);
  return { name, type, class: klass, ttl, data };
}

/** Decodes one DNS message; throws DnsFormatError (never anything else) on bad input. */
export function decodeMessage(bytes: Uint8Array): DnsMessage {
  const reader = new Reader(bytes);
  const id = reader.u16("header");
  const bits = reader.u16("header");
  const counts = [reader.u16("header"), reader.u16("header"), reader.u16("header"), reader.u16("header")] as const;
  // Each question takes ≥ 5 bytes and each record ≥ 11: refuse counts the message cannot hold before allocating.
  if (counts[0] * 5 + (counts[1] + counts[2] + counts[3]) * 11 > bytes.length - 12) throw new DnsFormatError("section counts exceed the message size", 4);
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) questions.push(readQuestion(reader));
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) for (let i = 0; i < (counts[s + 1] as number); i++) (sections[s] as DnsRecord[]).push(readRecord(reader));
  if (reader.offset !== bytes.length) throw new DnsFormatError(`${bytes.length - reader.offset} bytes after the last record`, reader.offset);
  return { id, flags: decodeFlags(bits), questions, answers: sections[0] as DnsRecord[], authorities: sections[1] as DnsRecord[], additionals: sections[2] as DnsRecord[] };
}

/** The header of a message too broken to decode, if it has one (to answer FORMERR with its id). */
export function decodeHeader(bytes: Uint8Array): { readonly id: number; readonly flags: DnsFlags } | undefined {
  if (bytes.length < 12) return undefined;
  return { id: ((bytes[0] as number) << 8) | (bytes[1] as number), flags: decodeFlags(((bytes[2] as number) << 8) | (bytes[3] as number)) };
}

function decodeFlags(bits: number): DnsFlags {
  return {
    qr: (bits & 0x8000) !== 0,
    opcode: (bits >> 11) & 0xf,
    aa: (bits & 0x0400) !== 0,
    tc: (bits & 0x0200) !== 0,
    rd: (bits & 0x0100) !== 0,
    ra: (bits & 0x0080) !== 0,
    z: (bits >> 4) & 0x7,
    rcode: bits & 0xf,
  };
}

// ---------------------------------------------------------------- encode

class Writer {
  private buffer = new Uint8Array(512);
  length = 0;
  /** Lower-cased name suffix → offset where it was written (compression targets). */
  private readonly names = new Map<string, number>();

  private ensure(count: number): void {
    if (this.length + count <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + count));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }
  u8(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value & 0xff;
  }
  u16(value: number): void {
    this.u8(value >>> 8);
    this.u8(value);
  }
  u32(value: number): void {
    this.u16(Math.floor(value / 0x10000) & 0xffff);
    this.u16(value & 0xffff);
  }
  bytes(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
  setU16(at: number, value: number): void {
    this.buffer[at] = (value >>> 8) & 0xff;
    this.buffer[at + 1] = value & 0xff;
  }
  name(name: string, compress: boolean): void {
    const labels = splitName(name);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".").toLowerCase();
      const known = this.names.get(suffix);
      if (compress && known !== undefined) {
        this.u16(0xc000 | known);
        return;
      }
      if (this.length < 0x4000) this.names.set(suffix, this.length);
      const label = labels[i] as string;
      this.u8(label.length);
      for (let c = 0; c < label.length; c++) this.u8(label.charCodeAt(c));
    }
    this.u8(0);
  }
  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Labels of `name`, checked against RFC 1035's limits (octets are the char codes, 0–255). */
function splitName(name: string): string[] {
  if (name === "") return [];
  const labels = name.split(".");
  let octets = 1;
  for (const label of labels) {
    if (label.length === 0 || label.length > MAX_LABEL_OCTETS) throw new RangeError(`DNS name ${JSON.stringify(name)}: label ${JSON.stringify(label)} must be 1-${MAX_LABEL_OCTETS} octets`);
    for (let c = 0; c < label.length; c++) if (label.charCodeAt(c) > 0xff) throw new RangeError(`DNS name ${JSON.stringify(name)}: non-octet character in ${JSON.stringify(label)}`);
    octets += label.length + 1;
  }
  if (octets > MAX_NAME_OCTETS) throw new RangeError(`DNS name ${JSON.stringify(name)} is longer than ${MAX_NAME_OCTETS} octets`);
  return labels;
}

function parseIpv4(address: string): number[] {
  const parts = address.split(".");
  const octets = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : NaN));
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) throw new RangeError(`A record address ${JSON.stringify(address)} is not an IPv4 address`);
  return octets;
}

/** The 16 bytes of an IPv6 address (`::` shorthand and a trailing dotted IPv4 accepted). */
export function parseIpv6(address: string): number[] | undefined {
  let text = address;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    try {
      tail = parseIpv4(text.slice(lastColon + 1));
    } catch {
      return undefined;
    }
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups = part.split(":");
    if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return groups.map((g) => parseInt(g, 16));
  };
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  if (head === undefined || rest === undefined) return undefined;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** True for a dotted-quad IPv4 address. */
export function isIpv4(address: string): boolean {
  try {
    parseIpv4(address);
    return true;
  } catch {
    return false;
  }
}

function writeRecord(writer: Writer, record: DnsRecord): void {
  writer.name(record.name, true);
  writer.u16(record.type);
  writer.u16(record.class);
  writer.u32(record.ttl);
  const lengthAt = writer.length;
  writer.u16(0);
  const start = writer.length;
  const data = record.data;
  switch (data.kind) {
    case "a":
      for (const octet of parseIpv4(data.address)) writer.u8(octet);
      break;
    case "aaaa": {
      const bytes = parseIpv6(data.address);
      if (bytes === undefined) throw new RangeError(`AAAA record address ${JSON.stringify(data.address)} is not an IPv6 address`);
      for (const octet of bytes) writer.u8(octet);
      break;
    }
    case "cname":
      writer.name(data.target, true);
      break;
    case "srv":
      writer.u16(data.priority);
      writer.u16(data.weight);
      writer.u16(data.port);
      writer.name(data.target, false);
      break;
    case "soa":
      writer.name(data.mname, true);
      writer.name(data.rname, true);
      for (const value of [data.serial, data.refresh, data.retry, data.expire, data.minimum]) writer.u32(value);
      break;
    case "raw":
      writer.bytes(data.bytes);
      break;
  }
  const length = writer.length - start;
  if (length > 0xffff) throw new RangeError(`record ${record.name} has ${length} bytes of RDATA (at most 65535)`);
  writer.setU16(lengthAt, length);
}

/** Encodes `message`; throws RangeError for a name or address that cannot be encoded. */
export function encodeMessage(message: DnsMessage): Uint8Array {
  const writer = new Writer();
  const f = message.flags;
  writer.u16(message.id);
  writer.u16((f.qr ? 0x8000 : 0) | ((f.opcode & 0xf) << 11) | (f.aa ? 0x0400 : 0) | (f.tc ? 0x0200 : 0) | (f.rd ? 0x0100 : 0) | (f.ra ? 0x0080 : 0) | ((f.z & 0x7) << 4) | (f.rcode & 0xf));
  for (const count of [message.questions.length, message.answers.length, message.authorities.length, message.additionals.length]) writer.u16(count);
  for (const question of message.questions) {
    writer.name(question.name, true);
    writer.u16(question.type);
    writer.u16(question.class);
  }
  for (const section of [message.answers, message.authorities, message.additionals]) for (const record of section) writeRecord(writer, record);
  return writer.result();
}
