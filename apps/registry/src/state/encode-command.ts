// The bytes of a registry Raft entry: a command plus the leader's clock reading, so that every
// replica applies lock-delay against the same time. JSON (UTF-8), validated on both ends.
import type { CheckDefinition, HealthStatus, KvTxnOp, PreparedQueryDefinition, RegistryCommand, ServiceDefinition } from "../registry-contract.ts";
import { isBase64 } from "./base64.ts";

/** What a registry Raft entry carries. `nowMs` is the proposing leader's wall clock (Unix ms). */
export interface RegistryEntry {
  readonly command: RegistryCommand;
  readonly nowMs: number;
  /**
   * Set by a follower that proposed the entry through the leader (a Raft `prop` message): its
   * request id, so that it answers its client when it applies the entry. Not part of the state.
   */
  readonly origin?: string;
}

/** A Raft entry (or a command about to become one) that is not a valid registry entry. */
export class CommandDecodeError extends Error {
  readonly code = "bad-command";
  constructor(message: string) {
    super(message);
    this.name = "CommandDecodeError";
  }
}

/** Envelope version: bump with a decoder for the old one when the shape changes. */
const VERSION = 1;

/** Validates `entry` and encodes it; throws `CommandDecodeError` naming the bad field. */
export function encodeEntry(entry: RegistryEntry): Uint8Array {
  return encodeParsedEntry(parseEntry(entry));
}

/**
 * Encodes an entry whose command came from `parseCommand` (validated and copied already: a write
 * is checked once, where it arrives, not again here); `nowMs` and `origin` are still checked.
 */
export function encodeParsedEntry(entry: RegistryEntry): Uint8Array {
  const nowMs = checkedNowMs(entry.nowMs);
  // "nowMs" right after "v" (see restampEntry); "origin" last.
  const json = entry.origin === undefined ? { v: VERSION, nowMs, command: entry.command } : { v: VERSION, nowMs, command: entry.command, origin: checkedOrigin(entry.origin) };
  return encodeText(JSON.stringify(json));
}

const encoder = new TextEncoder();

/**
 * Entries stay in the leader's Raft log until the next compaction (10,000 of them by default):
 * carved from shared 64 KiB slabs they cost no ArrayBuffer of their own (its object and backing
 * store bookkeeping, ~200 B per entry beside the bytes). A slab is freed once every entry in it
 * is (the log is compacted in order). Larger entries get their own buffer.
 */
const slabBytes = 64 * 1024;
let slab = new Uint8Array(slabBytes);
let slabAt = 0;

/** `n` bytes (zeroed, owned by the caller) from the current slab. */
function allocate(n: number): Uint8Array {
  if (n > slabBytes / 16) return new Uint8Array(n);
  if (slabAt + n > slabBytes) {
    slab = new Uint8Array(slabBytes);
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + n);
  slabAt += n;
  return out;
}

/** `encoder.encode(text)`, its bytes carved from a slab when small. */
function encodeText(text: string): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  if (text.length * 3 > slabBytes / 16) return encoder.encode(text);
  if (slabAt + text.length * 3 > slabBytes) {
    slab = new Uint8Array(slabBytes);
    slabAt = 0;
  }
  const { written } = encoder.encodeInto(text, slab.subarray(slabAt));
  const out = slab.subarray(slabAt, slabAt + written);
  slabAt += written;
  return out;
}
const STAMP_PREFIX = encoder.encode(`{"v":${VERSION},"nowMs":`);

/**
 * The bytes of an `encodeEntry` entry with `nowMs` replaced, without decoding the command: the
 * leader stamps entries that followers proposed with its own clock (see `RegistryEntry.nowMs`).
 * Bytes not written by `encodeEntry` come back unchanged (they fail at apply, on every replica alike).
 */
export function restampEntry(bytes: Uint8Array, nowMs: number): Uint8Array {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) throw new RangeError(`restampEntry: nowMs must be a non-negative integer (Unix ms), got ${nowMs}`);
  const start = STAMP_PREFIX.length;
  if (bytes.length <= start) return bytes;
  for (let i = 0; i < start; i++) if (bytes[i] !== STAMP_PREFIX[i]) return bytes;
  let end = start;
  while (end < bytes.length && (bytes[end] as number) >= 0x30 && (bytes[end] as number) <= 0x39) end++;
  if (end === start || bytes[end] !== 0x2c) return bytes;
  const digits = encoder.encode(String(nowMs));
  const out = allocate(bytes.length - (end - start) + digits.length);
  out.set(bytes.subarray(0, start), 0);
  out.set(digits, start);
  out.set(bytes.subarray(end), start + digits.length);
  return out;
}

/** One decoder for every entry (a TextDecoder per entry was CPU on every apply of every node). */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes and validates the bytes of a registry entry; throws `CommandDecodeError` for anything else. */
export function decodeEntry(bytes: Uint8Array): RegistryEntry {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new CommandDecodeError(`registry entry of ${bytes.length} bytes is not UTF-8: it was not written by encodeEntry`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CommandDecodeError(`registry entry is not JSON (${(error as Error).message}): ${preview(text)}; it was not written by encodeEntry`);
  }
  if (!isRecord(json)) throw new CommandDecodeError(`registry entry must be a JSON object {v, nowMs, command}, got ${preview(text)}`);
  if (json["v"] !== VERSION) {
    throw new CommandDecodeError(`registry entry has version ${JSON.stringify(json["v"])}; this build reads version ${VERSION}: upgrade the node`);
  }
  return parseEntry(json);
}

function parseEntry(value: unknown): RegistryEntry {
  if (!isRecord(value)) throw new CommandDecodeError("registry entry must be an object {nowMs, command}");
  const nowMs = checkedNowMs(value["nowMs"]);
  const origin = value["origin"];
  const command = parseCommand(value["command"], "command");
  return origin === undefined ? { nowMs, command } : { nowMs, command, origin: checkedOrigin(origin) };
}

function checkedNowMs(nowMs: unknown): number {
  if (typeof nowMs !== "number" || !Number.isSafeInteger(nowMs) || nowMs < 0) {
    throw new CommandDecodeError(`entry.nowMs must be a non-negative integer (Unix ms), got ${JSON.stringify(nowMs)}`);
  }
  return nowMs;
}

function checkedOrigin(origin: unknown): string {
  if (typeof origin !== "string" || origin === "") throw new CommandDecodeError(`entry.origin must be a non-empty string when present, got ${JSON.stringify(origin)}`);
  return origin;
}

/** Validates a command (as `decodeEntry` does) and returns a copy holding only the known fields. */
export function parseCommand(value: unknown, at = "command"): RegistryCommand {
  const r: Reader = new Reader(value, at);
  const op = r.str("op");
  switch (op) {
    case "kv-set":
      return omitUndefined({
        op,
        key: r.str("key"),
        value: r.base64("value"),
        flags: r.optUint("flags"),
        cas: r.optUint("cas"),
        acquire: r.optNonEmpty("acquire"),
        release: r.optNonEmpty("release"),
      });
    case "kv-delete":
      return omitUndefined({ op, key: r.str("key"), recurse: r.optBool("recurse"), cas: r.optUint("cas") });
    case "txn": {
      const ops = r.array("ops").map((item, i) => parseTxnOp(item, `${at}.ops[${i}]`));
      return { op, ops };
    }
    case "session-create": {
      const behavior = r.str("behavior");
      if (behavior !== "release" && behavior !== "delete") r.fail("behavior", `must be "release" or "delete", got ${JSON.stringify(behavior)}`);
      return {
        op,
        id: r.nonEmpty("id"),
        name: r.str("name"),
        node: r.str("node"),
        ttlMs: r.uint("ttlMs"),
        lockDelayMs: r.uint("lockDelayMs"),
        behavior,
        checks: r.stringArray("checks"),
      };
    }
    case "session-destroy":
      return { op, id: r.nonEmpty("id") };
    case "catalog-register": {
      const service = r.has("service") ? parseService(r.get("service"), `${at}.service`) : undefined;
      const checks = r.has("checks") ? r.array("checks").map((item, i) => parseCheck(item, `${at}.checks[${i}]`)) : undefined;
      return omitUndefined({ op, node: r.nonEmpty("node"), address: r.str("address"), nodeMeta: r.optStringRecord("nodeMeta"), service, checks });
    }
    case "catalog-deregister":
      return omitUndefined({ op, node: r.nonEmpty("node"), serviceId: r.optNonEmpty("serviceId"), checkId: r.optNonEmpty("checkId") });
    case "check-update":
      return { op, node: r.nonEmpty("node"), checkId: r.nonEmpty("checkId"), status: r.status("status"), output: r.str("output") };
    case "state-restore":
      return { op, state: r.base64("state") };
    case "query-set":
      return { op, create: r.bool("create"), query: parsePreparedQuery(r.get("query"), `${at}.query`) };
    case "query-delete":
      return { op, id: r.nonEmpty("id") };
    default:
      return r.fail(
        "op",
        `${JSON.stringify(op)} is not a registry command: use one of kv-set, kv-delete, txn, session-create, session-destroy, catalog-register, catalog-deregister, check-update, state-restore, query-set, query-delete`,
      );
  }
}

const TXN_VERBS = ["set", "cas", "lock", "unlock", "get", "get-tree", "check-index", "check-session", "check-not-exists", "delete", "delete-tree", "delete-cas"];

function parseTxnOp(value: unknown, at: string): KvTxnOp {
  const r: Reader = new Reader(value, at);
  const verb = r.str("verb");
  const key = r.str("key");
  switch (verb) {
    case "set":
      return omitUndefined({ verb, key, value: r.base64("value"), flags: r.optUint("flags") });
    case "cas":
      return omitUndefined({ verb, key, value: r.base64("value"), flags: r.optUint("flags"), index: r.uint("index") });
    case "lock":
    case "unlock":
      return omitUndefined({ verb, key, value: r.base64("value"), flags: r.optUint("flags"), session: r.nonEmpty("session") });
    case "get":
    case "get-tree":
    case "check-not-exists":
    case "delete":
    case "delete-tree":
      return { verb, key };
    case "check-index":
    case "delete-cas":
      return { verb, key, index: r.uint("index") };
    case "check-session":
      return { verb, key, session: r.nonEmpty("session") };
    default:
      return r.fail("verb", `${JSON.stringify(verb)} is not a KV txn verb: use one of ${TXN_VERBS.join(", ")}`);
  }
}

function parseService(value: unknown, at: string): ServiceDefinition {
  const r: Reader = new Reader(value, at);
  const port = r.uint("port");
  if (port > 65535) r.fail("port", `must be a port number 0-65535, got ${port}`);
  return { id: r.nonEmpty("id"), service: r.nonEmpty("service"), address: r.str("address"), port, tags: r.stringArray("tags"), meta: r.stringRecord("meta") };
}

function parsePreparedQuery(value: unknown, at: string): PreparedQueryDefinition {
  const r: Reader = new Reader(value, at);
  const template: Reader = new Reader(r.get("template"), `${at}.template`);
  const type = template.str("type");
  if (type !== "" && type !== "name_prefix_match") template.fail("type", `must be "" or "name_prefix_match", got ${JSON.stringify(type)}`);
  const service: Reader = new Reader(r.get("service"), `${at}.service`);
  const failover: Reader = new Reader(service.get("failover"), `${at}.service.failover`);
  const dns: Reader = new Reader(r.get("dns"), `${at}.dns`);
  return {
    id: r.nonEmpty("id"),
    name: r.str("name"),
    session: r.str("session"),
    token: r.str("token"),
    template: { type, regexp: template.str("regexp"), removeEmptyTags: template.bool("removeEmptyTags") },
    service: {
      service: service.str("service"),
      failover: { nearestN: failover.uint("nearestN"), datacenters: failover.stringArray("datacenters") },
      onlyPassing: service.bool("onlyPassing"),
      ignoreCheckIds: service.stringArray("ignoreCheckIds"),
      near: service.str("near"),
      tags: service.stringArray("tags"),
      nodeMeta: service.stringRecord("nodeMeta"),
      serviceMeta: service.stringRecord("serviceMeta"),
    },
    dns: { ttl: dns.str("ttl") },
  };
}

const CHECK_TYPES = ["http", "tcp", "grpc", "ttl", "serf"] as const;

function parseCheck(value: unknown, at: string): CheckDefinition {
  const r: Reader = new Reader(value, at);
  const type = r.str("type");
  if (!(CHECK_TYPES as readonly string[]).includes(type)) r.fail("type", `must be one of ${CHECK_TYPES.join(", ")}, got ${JSON.stringify(type)}`);
  return omitUndefined({
    checkId: r.nonEmpty("checkId"),
    name: r.str("name"),
    serviceId: r.optNonEmpty("serviceId"),
    status: r.status("status"),
    output: r.str("output"),
    type: type as CheckDefinition["type"],
    http: r.optStr("http"),
    tcp: r.optStr("tcp"),
    grpc: r.optStr("grpc"),
    intervalMs: r.optUint("intervalMs"),
    timeoutMs: r.optUint("timeoutMs"),
    ttlMs: r.optUint("ttlMs"),
    deregisterCriticalAfterMs: r.optUint("deregisterCriticalAfterMs"),
  }) as CheckDefinition;
}

/** Reads typed fields of one JSON object, failing with the field's path. */
class Reader {
  private readonly obj: Record<string, unknown>;
  private readonly at: string;
  constructor(value: unknown, at: string) {
    this.at = at;
    if (!isRecord(value)) throw new CommandDecodeError(`${at} must be an object, got ${preview(JSON.stringify(value) ?? String(value))}`);
    this.obj = value;
  }
  fail(field: string, message: string): never {
    throw new CommandDecodeError(`${this.at}.${field} ${message}`);
  }
  has(field: string): boolean {
    return this.obj[field] !== undefined && this.obj[field] !== null;
  }
  get(field: string): unknown {
    return this.obj[field];
  }
  str(field: string): string {
    const v = this.obj[field];
    if (typeof v !== "string") this.fail(field, `must be a string, got ${describe(v)}`);
    return v;
  }
  nonEmpty(field: string): string {
    const v = this.str(field);
    if (v === "") this.fail(field, "must not be empty");
    return v;
  }
  optStr(field: string): string | undefined {
    return this.has(field) ? this.str(field) : undefined;
  }
  optNonEmpty(field: string): string | undefined {
    return this.has(field) ? this.nonEmpty(field) : undefined;
  }
  base64(field: string): string {
    const v = this.str(field);
    if (!isBase64(v)) this.fail(field, `must be padded standard base64 (values travel base64-encoded), got ${preview(JSON.stringify(v))}`);
    return v;
  }
  uint(field: string): number {
    const v = this.obj[field];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) this.fail(field, `must be a non-negative integer, got ${describe(v)}`);
    return v;
  }
  optUint(field: string): number | undefined {
    return this.has(field) ? this.uint(field) : undefined;
  }
  bool(field: string): boolean {
    const v = this.obj[field];
    if (typeof v !== "boolean") this.fail(field, `must be true or false, got ${describe(v)}`);
    return v;
  }
  optBool(field: string): boolean | undefined {
    if (!this.has(field)) return undefined;
    const v = this.obj[field];
    if (typeof v !== "boolean") this.fail(field, `must be true or false, got ${describe(v)}`);
    return v;
  }
  status(field: string): HealthStatus {
    const v = this.str(field);
    if (v !== "passing" && v !== "warning" && v !== "critical") this.fail(field, `must be "passing", "warning" or "critical", got ${JSON.stringify(v)}`);
    return v;
  }
  array(field: string): unknown[] {
    const v = this.obj[field];
    if (!Array.isArray(v)) this.fail(field, `must be an array, got ${describe(v)}`);
    return v;
  }
  stringArray(field: string): string[] {
    return this.array(field).map((item, i) => {
      if (typeof item !== "string") this.fail(`${field}[${i}]`, `must be a string, got ${describe(item)}`);
      return item;
    });
  }
  stringRecord(field: string): Record<string, string> {
    const v = this.obj[field];
    if (!isRecord(v)) this.fail(field, `must be an object of strings, got ${describe(v)}`);
    const out: Record<string, string> = {};
    for (const [k, item] of Object.entries(v)) {
      if (typeof item !== "string") this.fail(`${field}.${k}`, `must be a string, got ${describe(item)}`);
      out[k] = item;
    }
    return out;
  }
  optStringRecord(field: string): Record<string, string> | undefined {
    return this.has(field) ? this.stringRecord(field) : undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  return preview(JSON.stringify(value));
}

function preview(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** Drops undefined fields, so a decoded command equals one built without the optional fields. */
function omitUndefined<T extends object>(value: T): T {
  // for-in over a fresh literal (own, enumerable keys only): Object.entries made an array of
  // pairs per command, on every node's apply of every write.
  const out: Record<string, unknown> = {};
  const source = value as Record<string, unknown>;
  for (const k in source) {
    const v = source[k];
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}
