// mesh.registry.v1.RegistryService/Watch on a grpc-js server: the control plane's push view of the
// registry. Each call: a consistent read barrier, the state under the prefix (unless the client's
// from_index is still current), then one message per change — built when the change is seen, so
// changes that land meanwhile are coalesced — and a keepalive when nothing changed for
// `keepaliveMs`. Client cancellation (or a closed connection) ends the wait at once.
import { type Server, type ServerWritableStream, status } from "@grpc/grpc-js";
import { RegistryServiceService, type RegistryServiceServer, type WatchRequest, type WatchResponse } from "@meshwork/protocol";
import type { RegistryServer } from "../registry-contract.ts";
import { parseWatchKind, watchView } from "./watch-view.ts";

export interface WatchServiceOptions {
  /** A keepalive message after this long without a change (default 30 s). */
  readonly keepaliveMs?: number;
  readonly log?: (level: "debug" | "warn", msg: string, fields: Record<string, unknown>) => void;
}

/** Adds RegistryService (Watch) for `registryServer` to `grpcServer` (before or after it is bound). */
export function registerWatchService(grpcServer: Server, registryServer: RegistryServer, options: WatchServiceOptions = {}): void {
  const keepaliveMs = options.keepaliveMs ?? 30_000;
  const implementation: RegistryServiceServer = {
    watch: (call: ServerWritableStream<WatchRequest, WatchResponse>) => {
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      call.on("cancelled", stop);
      call.on("close", stop);
      call.on("error", stop);
      runWatch(call, registryServer, keepaliveMs, controller.signal).catch((error: unknown) => {
        options.log?.("warn", "watch: stream failed", { error: error instanceof Error ? error.message : String(error) });
        if (!controller.signal.aborted) call.emit("error", { code: status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
      });
    },
  };
  grpcServer.addService(RegistryServiceService, implementation);
}

async function runWatch(call: ServerWritableStream<WatchRequest, WatchResponse>, server: RegistryServer, keepaliveMs: number, signal: AbortSignal): Promise<void> {
  const request = call.request;
  const kind = parseWatchKind(request.kind);
  if (kind === undefined) {
    call.emit("error", { code: status.INVALID_ARGUMENT, details: `WatchRequest.kind ${JSON.stringify(request.kind)}: use "kv" or "catalog"` });
    return;
  }
  if (!Number.isSafeInteger(request.fromIndex) || request.fromIndex < 0) {
    call.emit("error", { code: status.INVALID_ARGUMENT, details: `WatchRequest.from_index ${request.fromIndex}: use 0 or the index of the last WatchResponse` });
    return;
  }
  try {
    await server.readBarrier("consistent");
  } catch (error) {
    call.emit("error", { code: status.UNAVAILABLE, details: `cannot confirm a consistent read (${error instanceof Error ? error.message : String(error)}): retry with from_index, or on another server` });
    return;
  }
  const view = watchView(kind, request.prefix);
  /** The index the client holds: the last message's, or its from_index. */
  let held = request.fromIndex;
  let lastContent: string | undefined;
  const send = async (message: WatchResponse): Promise<void> => {
    if (!call.write(message)) await new Promise<void>((resolve) => {
      const done = (): void => {
        call.off("drain", done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      call.on("drain", done);
      signal.addEventListener("abort", done);
    });
  };
  const sendSnapshot = async (): Promise<void> => {
    const snapshot = view.snapshot(server.state);
    // A KV prefix that never held a key follows every KV write (Consul's fallback index):
    // nothing under it changed, so nothing is sent; the next real change is.
    const content = JSON.stringify([snapshot.kvEntries.map((e) => [e.key, e.modifyIndex, e.lockIndex, e.session]), snapshot.serviceInstances]);
    if (content !== lastContent || lastContent === undefined) await send(snapshot);
    lastContent = content;
    held = snapshot.index;
  };
  const current = view.index(server.state);
  if (request.fromIndex === 0 || current !== request.fromIndex) await sendSnapshot();
  while (!signal.aborted) {
    await server.waitForChange(view.index, held, keepaliveMs, signal);
    if (signal.aborted) break;
    const index = view.index(server.state);
    if (index === held) await send({ index: Math.max(1, held), kvEntries: [], serviceInstances: [], keepalive: true });
    else await sendSnapshot();
  }
}
