// What productpage got from one upstream call, after its attempts: the parsed body, or the
// status to answer with and the apology to show (Istio's productpage uses 500 when there was
// no response at all: timeout, refused connection, unreadable body).

export type Fetched<T> =
  | { readonly ok: true; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly error: string };

/** The HTTP status productpage's JSON API answers with for `fetched`. */
export function fetchedStatus(fetched: Fetched<unknown>): number {
  return fetched.ok ? 200 : fetched.status;
}

/** The JSON body productpage's API answers with: the upstream's body, or `{"error": ...}`. */
export function fetchedBody(fetched: Fetched<unknown>): unknown {
  return fetched.ok ? fetched.body : { error: fetched.error };
}
