// What a Telemetry access-log filter (proxy-core compileLogFilter) reads of a finished request,
// taken from the access-log record the data path just filled. One object per telemetry
// environment, re-pointed per logged request: evaluating a filter allocates nothing.
import type { LogFilterInput } from "@meshwork/proxy-core";
import type { AccessLogRecord } from "./access-log.ts";

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

export class RecordFilterInput implements LogFilterInput {
  record: AccessLogRecord;
  headers: Readonly<Record<string, string>> = noHeaders;
  mtls = false;

  constructor(record: AccessLogRecord) {
    this.record = record;
  }

  /** Points the input at one request: its record, its request headers (lower-case names; none for TCP) and whether its connection is mutual TLS. */
  of(record: AccessLogRecord, headers: Readonly<Record<string, string>> | undefined, mtls: boolean): this {
    this.record = record;
    this.headers = headers ?? noHeaders;
    this.mtls = mtls;
    return this;
  }

  get method(): string {
    return this.record.method;
  }
  get path(): string {
    return this.record.path;
  }
  get authority(): string {
    return this.record.authority;
  }
  get protocol(): string {
    return this.record.protocol;
  }
  get requestId(): string {
    return this.record.requestId;
  }
  get userAgent(): string {
    return this.record.userAgent;
  }
  get responseCode(): number {
    return this.record.responseCode;
  }
  get responseFlags(): number {
    return this.record.responseFlags;
  }
  get responseCodeDetails(): string {
    return this.record.responseCodeDetails;
  }
  get durationMs(): number {
    return this.record.durationMs;
  }
  get bytesReceived(): number {
    return this.record.bytesReceived;
  }
  get bytesSent(): number {
    return this.record.bytesSent;
  }
  get upstreamHost(): string {
    return this.record.upstreamHost;
  }
  get requestedServerName(): string {
    return this.record.requestedServerName;
  }
  header(name: string): string | undefined {
    return this.headers[name];
  }
}
