// The HTTPS client of the gateway tests (Istio's tasks use curl with --resolve and --cacert): one
// GET on a new connection, reporting the certificate the client saw.
import { request as httpsRequest } from "node:https";
import type { TLSSocket } from "node:tls";

/** What an HTTPS GET saw: the status, the body, and the serial and SANs (`URI:spiffe://…`) of the server's certificate. */
export interface HttpsAnswer {
  readonly status: number;
  readonly body: string;
  readonly serial: string;
  readonly serverSans: string;
}

export interface HttpsGetOptions {
  /** The roots the server's certificate must chain to (PEM). */
  readonly ca: string;
  /** Host header; the SNI when unset. */
  readonly host?: string;
  readonly path?: string;
  /** A client certificate and key (PEM) to present. */
  readonly client?: { readonly cert: string; readonly key: string };
  /** Skip Node's host-name check (an SVID carries a URI SAN, no DNS name: check `serverSans` instead). */
  readonly skipHostnameCheck?: boolean;
}

/** No answer within this long after the request is sent is a failure, not a hang. */
const answerTimeoutMs = 15_000;

/**
 * One HTTPS GET to 127.0.0.1:`port` on a new connection with SNI `servername`; rejects when the
 * handshake fails or the connection closes or stays silent without an answer.
 */
export function httpsGet(port: number, servername: string, options: HttpsGetOptions): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const headers = { host: options.host ?? servername };
    const request = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: options.path ?? "/",
        servername,
        ca: options.ca,
        headers,
        agent: false,
        ...(options.skipHostnameCheck === true ? { checkServerIdentity: () => undefined } : {}),
        ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
      },
      (response) => {
        const certificate = (response.socket as TLSSocket).getPeerCertificate();
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body, serial: certificate.serialNumber, serverSans: certificate.subjectaltname ?? "" }));
        response.on("error", reject);
      },
    );
    request.setTimeout(answerTimeoutMs, () => request.destroy(new Error(`no answer from 127.0.0.1:${port} (SNI ${servername}) within ${answerTimeoutMs / 1000} s`)));
    request.on("error", reject);
    request.end();
  });
}
