// Istio's HTTP metadata exchange: each sidecar sends its workload's metadata to the peer in
// `x-envoy-peer-metadata` (base64 of a serialised google.protobuf.Struct, the keys Istio's node
// metadata uses: WORKLOAD_NAME, NAMESPACE, LABELS, CLUSTER_ID, ...) and `x-envoy-peer-metadata-id`
// (the Envoy node id). The client sidecar adds them to requests, the server sidecar reads them to
// label its `reporter="destination"` metrics with the source workload and answers with its own;
// neither app sees them. Pure: encoding and decoding only.
import type { PeerLabels } from "../telemetry/istio-metrics.ts";

export const PEER_METADATA_HEADER = "x-envoy-peer-metadata";
export const PEER_METADATA_ID_HEADER = "x-envoy-peer-metadata-id";

/** A sidecar's own metadata, as Istio's node metadata names it. */
export interface WorkloadMetadata {
  /** NAME: the pod (instance) name. */
  readonly name: string;
  readonly namespace: string;
  readonly workloadName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly clusterId: string;
  readonly meshId: string;
  readonly serviceAccount?: string | undefined;
}

/** A value of a google.protobuf.Struct, decoded. */
export type StructValue = null | number | string | boolean | StructValue[] | { [key: string]: StructValue };

/** The two header lines (`name: value\r\n`) a sidecar sends about itself, computed once. */
export function peerMetadataHeaderLines(metadata: WorkloadMetadata, nodeId: string): string {
  return `${PEER_METADATA_ID_HEADER}: ${nodeId}\r\n${PEER_METADATA_HEADER}: ${encodePeerMetadata(metadata)}\r\n`;
}

/** base64 of the serialised Struct Istio's metadata exchange sends. */
export function encodePeerMetadata(metadata: WorkloadMetadata): string {
  const fields: Record<string, StructValue> = {
    CLUSTER_ID: metadata.clusterId,
    LABELS: { ...metadata.labels },
    MESH_ID: metadata.meshId,
    NAME: metadata.name,
    NAMESPACE: metadata.namespace,
    WORKLOAD_NAME: metadata.workloadName,
  };
  if (metadata.serviceAccount !== undefined) fields["SERVICE_ACCOUNT"] = metadata.serviceAccount;
  return Buffer.from(encodeStruct(fields)).toString("base64");
}

/** The metric labels a peer's metadata gives (`source_workload`, `source_app`, ...); undefined when the header is not a valid Struct. */
export function peerLabelsFromHeader(base64: string): PeerLabels | undefined {
  const fields = decodeStruct(Buffer.from(base64, "base64"));
  if (fields === undefined) return undefined;
  const text = (value: StructValue | undefined): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
  const rawLabels = fields["LABELS"];
  const labels = rawLabels !== null && typeof rawLabels === "object" && !Array.isArray(rawLabels) ? rawLabels : {};
  const peer: PeerLabels = {};
  const set = (key: keyof PeerLabels, value: string | undefined): void => {
    if (value !== undefined) peer[key] = value;
  };
  set("workload", text(fields["WORKLOAD_NAME"]));
  set("namespace", text(fields["NAMESPACE"]));
  set("cluster", text(fields["CLUSTER_ID"]));
  set("app", text(labels["app"]));
  set("version", text(labels["version"]));
  set("canonicalService", text(labels["service.istio.io/canonical-name"]));
  set("canonicalRevision", text(labels["service.istio.io/canonical-revision"]));
  return peer;
}

// ---- protobuf: google.protobuf.Struct { map<string, Value> fields = 1; }
// Value { oneof kind { NullValue null_value = 1; double number_value = 2; string string_value = 3;
//                      bool bool_value = 4; Struct struct_value = 5; ListValue list_value = 6; } }
// ListValue { repeated Value values = 1; }

export function encodeStruct(fields: Readonly<Record<string, StructValue>>): Uint8Array {
  const out: number[] = [];
  for (const key of Object.keys(fields).sort()) {
    const entry: number[] = [];
    bytesField(entry, 1, utf8(key));
    bytesField(entry, 2, encodeValue(fields[key] as StructValue));
    bytesField(out, 1, entry);
  }
  return Uint8Array.from(out);
}

function encodeValue(value: StructValue): number[] {
  const out: number[] = [];
  if (value === null) {
    out.push(1 << 3, 0);
  } else if (typeof value === "number") {
    out.push((2 << 3) | 1);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    out.push(...bytes);
  } else if (typeof value === "string") {
    bytesField(out, 3, utf8(value));
  } else if (typeof value === "boolean") {
    out.push(4 << 3, value ? 1 : 0);
  } else if (Array.isArray(value)) {
    const list: number[] = [];
    for (const item of value) bytesField(list, 1, encodeValue(item));
    bytesField(out, 6, list);
  } else {
    bytesField(out, 5, Array.from(encodeStruct(value)));
  }
  return out;
}

function bytesField(out: number[], field: number, bytes: ArrayLike<number>): void {
  varint(out, (field << 3) | 2);
  varint(out, bytes.length);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i] as number);
}

function varint(out: number[], value: number): void {
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

const decoder = new TextDecoder("utf-8", { fatal: true });
/** Deeper nesting than Istio's metadata ever has is refused (a crafted header cannot recurse without end). */
const maxDepth = 8;

class Reader {
  pos: number;
  readonly bytes: Uint8Array;
  readonly end: number;
  constructor(bytes: Uint8Array, start: number, end: number) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError("truncated varint");
      const b = this.bytes[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new RangeError("varint too long");
  }
  /** [start, end) of a length-delimited field's bytes. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (length > this.end - start) throw new RangeError("field longer than its message");
    this.pos = start + length;
    return [start, start + length];
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.advance(8);
    else if (wireType === 2) this.span();
    else if (wireType === 5) this.advance(4);
    else throw new RangeError(`unsupported wire type ${wireType}`);
  }
  private advance(n: number): void {
    if (this.end - this.pos < n) throw new RangeError("truncated field");
    this.pos += n;
  }
}

/** Decodes a serialised Struct; undefined when the bytes are not one (never throws). */
export function decodeStruct(bytes: Uint8Array): Record<string, StructValue> | undefined {
  try {
    return readStruct(bytes, 0, bytes.length, 0);
  } catch {
    return undefined;
  }
}

function readStruct(bytes: Uint8Array, start: number, end: number, depth: number): Record<string, StructValue> {
  if (depth > maxDepth) throw new RangeError("nested too deep");
  const fields: Record<string, StructValue> = Object.create(null) as Record<string, StructValue>;
  const r = new Reader(bytes, start, end);
  while (r.pos < end) {
    const tag = r.varint();
    if (tag >>> 3 !== 1 || (tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const [es, ee] = r.span();
    const entry = new Reader(bytes, es, ee);
    let key = "";
    let value: StructValue = null;
    while (entry.pos < ee) {
      const t = entry.varint();
      if (t === ((1 << 3) | 2)) {
        const [ks, ke] = entry.span();
        key = decoder.decode(bytes.subarray(ks, ke));
      } else if (t === ((2 << 3) | 2)) {
        const [vs, ve] = entry.span();
        value = readValue(bytes, vs, ve, depth + 1);
      } else entry.skip(t & 7);
    }
    fields[key] = value;
  }
  return fields;
}

function readValue(bytes: Uint8Array, start: number, end: number, depth: number): StructValue {
  if (depth > maxDepth) throw new RangeError("nested too deep");
  const r = new Reader(bytes, start, end);
  let value: StructValue = null;
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) {
      r.varint();
      value = null;
    } else if (field === 2 && wire === 1) {
      if (end - r.pos < 8) throw new RangeError("truncated double");
      value = new DataView(bytes.buffer, bytes.byteOffset + r.pos, 8).getFloat64(0, true);
      r.pos += 8;
    } else if (field === 3 && wire === 2) {
      const [s, e] = r.span();
      value = decoder.decode(bytes.subarray(s, e));
    } else if (field === 4 && wire === 0) {
      value = r.varint() !== 0;
    } else if (field === 5 && wire === 2) {
      const [s, e] = r.span();
      value = readStruct(bytes, s, e, depth + 1);
    } else if (field === 6 && wire === 2) {
      const [s, e] = r.span();
      const list: StructValue[] = [];
      const lr = new Reader(bytes, s, e);
      while (lr.pos < e) {
        const t = lr.varint();
        if (t === ((1 << 3) | 2)) {
          const [is, ie] = lr.span();
          list.push(readValue(bytes, is, ie, depth + 1));
        } else lr.skip(t & 7);
      }
      value = list;
    } else r.skip(wire);
  }
  return value;
}
