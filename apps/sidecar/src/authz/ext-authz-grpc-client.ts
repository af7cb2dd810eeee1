// The CUSTOM action's external authorizer client over gRPC, as Envoy's ext_authz filters talk to
// an Istio `envoyExtAuthzGrpc` provider: one unary `envoy.service.auth.v3.Authorization/Check`
// per request (the HTTP filter) or per TCP connection (the network filter) on a channel kept for the provider (HTTP/2, plain text, `:authority` the service's
// host name as Istio configures it), the provider's timeout as the call's deadline. A failed call
// (unreachable, deadline, any non-OK gRPC status) denies with statusOnError unless failOpen; the
// answer is read by readCheckResponse. Loaded only when MeshConfig names a gRPC provider.
import { credentials, Metadata, status, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { ExtAuthzClient, type ExtAuthzCheckRequest } from "@meshwork/protocol";
import { formatAddress } from "../proxy/socket-address.ts";
import { buildCheckRequest } from "./build-check-request.ts";
import { buildConnectionCheckRequest } from "./build-connection-check-request.ts";
import { externalCheckFailure, type ConnectionCheckRequest, type ExternalAuthorizer, type ExternalCheckRequest, type ExternalCheckResult } from "./check-external.ts";
import type { ExtAuthzGrpcProvider } from "./mesh-authz-config.ts";
import { readCheckResponse } from "./read-check-response.ts";

export interface ExtAuthzGrpcClientOptions {
  /** Where to connect; default the provider's service and port (resolved by DNS). */
  readonly address?: { readonly host: string; readonly port: number };
  /** ms since the epoch (request time of checks that do not say when the request arrived). */
  readonly now?: () => number;
  /** Uniform [0, 1) for the check's stream id. */
  readonly random?: () => number;
}

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

export class ExtAuthzGrpcClient implements ExternalAuthorizer {
  readonly provider: ExtAuthzGrpcProvider;
  readonly #client: ExtAuthzClient;
  readonly #now: () => number;
  readonly #random: () => number;
  /** Calls in flight: grpc-js lets them run to their deadline after the channel closes, so close() cancels them. */
  readonly #calls = new Set<ClientUnaryCall>();
  #closed = false;

  /** Creates the channel; it connects on the first check and reconnects as needed. */
  constructor(provider: ExtAuthzGrpcProvider, options: ExtAuthzGrpcClientOptions = {}) {
    this.provider = provider;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    const target = formatAddress(options.address?.host ?? provider.service, options.address?.port ?? provider.port);
    this.#client = new ExtAuthzClient(target, credentials.createInsecure(), {
      // Istio's EnvoyGrpc service: `authority: <service host name>`.
      "grpc.default_authority": provider.service,
      // An authorizer that was down is tried again within seconds, not grpc-js's two minutes;
      // meanwhile checks fail at once (statusOnError / failOpen), as Envoy's do.
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 5_000,
    });
  }

  check(request: ExternalCheckRequest, options: { readonly signal?: AbortSignal } = {}): Promise<ExternalCheckResult> {
    if (this.#closed || options.signal?.aborted) return Promise.resolve(this.#refused(options.signal));
    return this.#call(buildCheckRequest(this.provider, request, { nowMs: this.#now(), id: this.#streamId() }), request.headers, options.signal);
  }

  checkConnection(request: ConnectionCheckRequest, options: { readonly signal?: AbortSignal } = {}): Promise<ExternalCheckResult> {
    if (this.#closed || options.signal?.aborted) return Promise.resolve(this.#refused(options.signal));
    return this.#call(buildConnectionCheckRequest(request), noHeaders, options.signal);
  }

  /** A check that is not sent: the client was closed, or the caller aborted first. */
  #refused(signal: AbortSignal | undefined): ExternalCheckResult {
    const provider = this.provider;
    return externalCheckFailure(provider, signal?.aborted === true && !this.#closed ? "the check was aborted" : `${provider.name}: the client was closed`);
  }

  /** One Check call with the provider's deadline; `requestHeaders` are the request's (for header appends), none for a connection. */
  #call(message: ExtAuthzCheckRequest, requestHeaders: Readonly<Record<string, string>>, signal: AbortSignal | undefined): Promise<ExternalCheckResult> {
    const provider = this.provider;
    return new Promise((resolve) => {
      let aborted = false;
      const onAbort = (): void => {
        aborted = true;
        call.cancel();
      };
      const call = this.#client.check(message, new Metadata(), { deadline: Date.now() + provider.timeoutMs }, (error, response) => {
        this.#calls.delete(call);
        signal?.removeEventListener("abort", onAbort);
        if (!error) resolve(readCheckResponse(provider, response, requestHeaders));
        else resolve(externalCheckFailure(provider, aborted ? "the check was aborted" : this.#closed ? `${provider.name}: the client was closed` : this.#describe(error)));
      });
      this.#calls.add(call);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Closes the channel: checks in flight end now as failures (statusOnError / failOpen), later ones fail at once. */
  close(): void {
    this.#closed = true;
    for (const call of this.#calls) call.cancel();
    this.#client.close();
  }

  #describe(error: ServiceError): string {
    const name = this.provider.name;
    if (error.code === status.DEADLINE_EXCEEDED) return `${name} did not answer within ${this.provider.timeoutMs} ms`;
    if (error.code === status.UNAVAILABLE) return `${name} unreachable: ${error.details}`;
    return `${name} failed: ${status[error.code] ?? error.code} ${error.details}`;
  }

  /** A random uint64 in decimal, as Envoy's stream ids are. */
  #streamId(): string {
    const word = (): bigint => BigInt(Math.floor(this.#random() * 0x1_0000_0000));
    return ((word() << 32n) | word()).toString();
  }
}
