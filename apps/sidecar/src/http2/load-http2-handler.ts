// The HTTP/2 path (handle-http2-connection.ts, the exchanges, the upstream session pools and
// node:http2 itself, ~1 MB of resident memory) is loaded when a listener first needs it — its
// first HTTP/2 connection, or the first HTTP/1.1 request to a cluster that speaks HTTP/2 upstream —
// not at start: most sidecars never do. The listener waits with the socket paused and the bytes
// read so far kept until the modules have loaded.
import type { handleHttp2Connection } from "./handle-http2-connection.ts";
import type { UpgradedExchange } from "./upgraded-exchange.ts";

export type HandleHttp2Connection = typeof handleHttp2Connection;

/** What the HTTP/2 path gives the HTTP/1.1 listener. */
export interface Http2Path {
  readonly handleHttp2Connection: HandleHttp2Connection;
  /** An HTTP/1.1 request's exchange with an HTTP/2 upstream. */
  readonly UpgradedExchange: typeof UpgradedExchange;
}

let loaded: Http2Path | undefined;
let loading: Promise<Http2Path> | undefined;

/** The HTTP/2 path, loading it the first time (an import error rejects; the next call tries again). */
export function loadHttp2Path(): Promise<Http2Path> {
  if (loaded !== undefined) return Promise.resolve(loaded);
  loading ??= Promise.all([import("./handle-http2-connection.ts"), import("./upgraded-exchange.ts")]).then(
    ([connection, upgraded]) => (loaded = { handleHttp2Connection: connection.handleHttp2Connection, UpgradedExchange: upgraded.UpgradedExchange }),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/**
 * Calls `use` with handleHttp2Connection: at once when the HTTP/2 path is loaded, else once it
 * is (the first connection waits for the import). `failed` gets an import error (the next call
 * tries again) or what `use` threw when it ran late.
 */
export function withHttp2Handler(use: (handle: HandleHttp2Connection) => void, failed: (error: unknown) => void): void {
  if (loaded !== undefined) {
    use(loaded.handleHttp2Connection);
    return;
  }
  loadHttp2Path()
    .then((path) => use(path.handleHttp2Connection))
    .catch(failed);
}

/** The HTTP/2 path when it has been loaded; undefined before. */
export function loadedHttp2Path(): Http2Path | undefined {
  return loaded;
}
