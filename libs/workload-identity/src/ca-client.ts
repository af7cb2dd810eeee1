// A grpc-js client of mesh.ca.v1.CertificateService that authenticates the CA by its SPIFFE ID
// (not its host name) against the bootstrap roots: what workload agents, meshctl, tests and
// bench/ca use. Workloads present no client certificate: the workload token is their proof.
import { isIP } from "node:net";
import { credentials } from "@grpc/grpc-js";
import { spiffeServerIdentityCheck, type SpiffeId, type TrustBundles } from "@meshwork/pki";
import { CertificateServiceClient, type CreateCertificateRequest, type CreateCertificateResponse, type CreateJwtSvidRequest, type CreateJwtSvidResponse } from "@meshwork/protocol";

/** Connects to the CA at `address` ("host:port"), trusting `bundles` and expecting `serverId`. */
export function createCaClient(options: {
  readonly address: string;
  readonly bundles: TrustBundles;
  readonly rootsPem: string;
  readonly serverId: SpiffeId;
  readonly clock: () => Date;
}): CertificateServiceClient {
  const checkServerIdentity = spiffeServerIdentityCheck([options.serverId], { bundles: options.bundles, clock: options.clock });
  const channel = credentials.createSsl(Buffer.from(options.rootsPem), null, null, { checkServerIdentity });
  // SNI carries host names only (RFC 6066 §3): Node warns about an IP address (DEP0123), Deno's
  // node:tls refuses it. For an IP address the SNI is the trust domain instead; the CA is
  // authenticated by its SPIFFE ID, never by this name.
  const { address } = options;
  const colon = address.lastIndexOf(":");
  const host = address.startsWith("[") ? address.slice(1, address.indexOf("]")) : colon === -1 ? address : address.slice(0, colon);
  const channelOptions = isIP(host) === 0 ? {} : { "grpc.ssl_target_name_override": new URL(options.serverId).host };
  return new CertificateServiceClient(options.address, channel, channelOptions);
}

/** CreateCertificate as a promise; rejects with the grpc-js ServiceError. */
export function createCertificate(client: CertificateServiceClient, request: CreateCertificateRequest): Promise<CreateCertificateResponse> {
  return new Promise((resolve, reject) => {
    client.createCertificate(request, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/** CreateJwtSvid as a promise; rejects with the grpc-js ServiceError. */
export function createJwtSvid(client: CertificateServiceClient, request: CreateJwtSvidRequest): Promise<CreateJwtSvidResponse> {
  return new Promise((resolve, reject) => {
    client.createJwtSvid(request, (error, response) => (error ? reject(error) : resolve(response)));
  });
}
