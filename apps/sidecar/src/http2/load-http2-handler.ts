// The HTTP/2 path (handle-http2-connection.ts, the exchange, the upstream session pools and
// node:http2 itself, ~1 MB of resident memory) is loaded when a listener sees its first HTTP/2
// connection, not at start: most sidecars never get one. The listener hands over the socket paused
// with the bytes read so far; they wait in the socket until the module has loaded.
import type { handleHttp2Connection } from "./handle-http2-connection.ts";

export type HandleHttp2Connection = typeof handleHttp2Connection;

let loaded: HandleHttp2Connection | undefined;
let loading: Promise<HandleHttp2Connection> | undefined;

/**
 * Calls `use` with handleHttp2Connection: at once when the HTTP/2 path is loaded, else once it
 * is (the first connection waits for the import). `failed` gets an import error (the next call
 * tries again) or what `use` threw when it ran late.
 */
export function withHttp2Handler(use: (handle: HandleHttp2Connection) => void, failed: (error: unknown) => void): void {
  if (loaded !== undefined) {
    use(loaded);
    return;
  }
  loading ??= import("./handle-http2-connection.ts").then(
    (module) => (loaded = module.handleHttp2Connection),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  loading.then(use).catch(failed);
}

/** Whether the HTTP/2 path has been loaded (a listener saw an HTTP/2 connection). */
export function http2PathLoaded(): boolean {
  return loaded !== undefined;
}
