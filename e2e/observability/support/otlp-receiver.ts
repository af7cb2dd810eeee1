// An OTLP/HTTP trace receiver (POST /v1/traces, JSON encoding as the OTLP spec defines it: ids in
// hex, kinds as numbers) that keeps every span it receives. Its replies are what the OpenTelemetry
// SDK's exporter expects (an empty ExportTraceServiceResponse); the suite checks it against that
// exporter too.
import { createServer, type Server } from "node:http";

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly serviceName: string;
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpKeyValue[] }[] }[];
  }[];
}

function valueOf(v: OtlpAnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue ?? "";
}

function attributes(list: readonly OtlpKeyValue[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

/** Ids are hex in OTLP/JSON; protobuf-JSON mappers that emit base64 are converted. */
function hexId(id: string | undefined, bytes: number): string {
  if (id === undefined || id === "") return "";
  if (new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(id)) return id;
  return Buffer.from(id, "base64").toString("hex");
}

export function decodeOtlpJson(body: string): ReceivedSpan[] {
  const request = JSON.parse(body) as OtlpRequest;
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const serviceName = String(attributes(rs.resource?.attributes)["service.name"] ?? "");
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: hexId(s.traceId, 16),
        spanId: hexId(s.spanId, 8),
        parentSpanId: hexId(s.parentSpanId, 8),
        name: s.name,
        kind: s.kind,
        attributes: attributes(s.attributes),
        serviceName,
      })),
    );
  });
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 picks one). */
export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") return void res.writeHead(404).end();
      if (!(req.headers["content-type"] ?? "").startsWith("application/json")) return void res.writeHead(415, { "content-type": "application/json" }).end('{"code":3,"message":"this receiver takes OTLP/HTTP JSON"}');
      try {
        spans.push(...decodeOtlpJson(Buffer.concat(chunks).toString("utf8")));
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } catch (error) {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ code: 3, message: String(error) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/traces`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
