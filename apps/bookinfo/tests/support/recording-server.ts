// A plain HTTP server for tests that stands in for a peer bookinfo does not own here (an echo
// upstream, a proxy's listener, a service that hangs): it records each request and answers
// with what the test says.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  readonly method: string;
  /** The request target as sent: origin-form `/a` or absolute-form `http://host/a`. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
}

export interface RecordingServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** `answer` writes the response; it may leave it unanswered to simulate a hang. */
export async function startRecordingServer(answer: (request: RecordedRequest, res: ServerResponse) => void): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const request = { method: req.method ?? "", target: req.url ?? "", headers: req.headers };
    requests.push(request);
    req.resume();
    answer(request, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers JSON with `status`. */
export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** A URL where nothing listens: a server bound to a port and closed again. */
export async function closedUrl(): Promise<string> {
  const server = await startRecordingServer(() => undefined);
  await server.close();
  return server.url;
}
