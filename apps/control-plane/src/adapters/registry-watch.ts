// Follows mesh.registry.v1.RegistryService/Watch (a KV prefix or the catalog) across the registry
// servers: on an error it moves to the next server and resumes from the last index it holds, so a
// dead server costs one reconnect and no missed change.
import { credentials, type ClientReadableStream } from "@grpc/grpc-js";
import { RegistryServiceClient, type WatchResponse } from "@meshwork/protocol";

export interface RegistryWatchOptions {
  /** gRPC `host:port` of the registry servers. */
  readonly addresses: readonly string[];
  readonly kind: "kv" | "catalog";
  readonly prefix: string;
  /** A full state (keepalives are not passed on). */
  readonly onState: (response: WatchResponse) => void;
  readonly onError?: (error: Error, address: string) => void;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

export interface RegistryWatch {
  close(): void;
}

export function watchRegistry(options: RegistryWatchOptions): RegistryWatch {
  if (options.addresses.length === 0) throw new Error("watchRegistry: no registry gRPC address; set --registry-grpc HOST:PORT");
  let index = 0;
  let attempt = 0;
  let closed = false;
  let fromIndex = 0;
  let client: RegistryServiceClient | undefined;
  let call: ClientReadableStream<WatchResponse> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const initialMs = options.backoff?.initialMs ?? 100;
  let delayMs = initialMs;

  const connect = (): void => {
    if (closed) return;
    const address = options.addresses[index % options.addresses.length] ?? "";
    client?.close();
    client = new RegistryServiceClient(address, credentials.createInsecure());
    const current = client.watch({ prefix: options.prefix, fromIndex, kind: options.kind });
    call = current;
    let failed = false;
    const retry = (error: Error): void => {
      if (failed || closed) return;
      failed = true;
      options.onError?.(error, address);
      index += 1;
      attempt += 1;
      timer = setTimeout(connect, delayMs);
      delayMs = Math.min(delayMs * 2, options.backoff?.maxMs ?? 2_000);
    };
    current.on("data", (response: WatchResponse) => {
      delayMs = initialMs;
      fromIndex = response.index;
      if (!response.keepalive) options.onState(response);
    });
    current.on("error", retry);
    current.on("end", () => retry(new Error(`registry ${address} ended the watch`)));
  };
  connect();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      call?.cancel();
      client?.close();
      void attempt;
    },
  };
}
