// Istio's east-west gateway (multicluster "expose services": a TLS server in AUTO_PASSTHROUGH
// mode) and a mesh-internal gateway (an HTTPS server in ISTIO_MUTUAL mode) on the local mesh's
// ingress gateway, managed by the control plane. The client presents what a sidecar of another
// cluster would: an SVID of the mesh (support/mesh-svid.ts). Through AUTO_PASSTHROUGH its mutual TLS,
// with the SNI a sidecar sends (`outbound_.<port>_.<subset>_.<host>`), reaches the sidecar of that
// cluster's workload, which terminates it; ISTIO_MUTUAL terminates it at the gateway (its own SVID)
// and routes by the VirtualService bound to that Gateway.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { eventually, httpsGet, type HttpsAnswer } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topology, type MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, fixture } from "./support/mesh-config.ts";
import { accessLog, logOffset, resetToBaseline } from "./support/mesh-state.ts";
import { issueMeshSvid, meshRootPem, type MeshSvid } from "./support/mesh-svid.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "./support/use-local-mesh.ts";

/** Ports of the gateway after the bookinfo one (+1 secure-gateways, +2 ingress-passthrough). */
const autoPassthroughPort = topology.gatewayPort + 3;
const istioMutualPort = topology.gatewayPort + 4;

const detailsHost = "details.default.svc.cluster.local";
/** The SNI details' clients send (upstream-tls.ts: `outbound_.<port>_.<subset>_.<host>`, Istio's auto mTLS). */
const detailsSni = `outbound_.9080_._.${detailsHost}`;

let mesh: MeshEndpoints;
let roots: string;
let client: MeshSvid;

beforeAll(async () => {
  mesh = await useLocalMesh();
  const certDir = join(mesh.stateDir, "east-west-gateway-certs");
  await mkdir(certDir, { recursive: true });
  roots = await meshRootPem(mesh);
  // Istio's sleep sample, as a workload of another cluster sharing the root would be.
  client = await issueMeshSvid(mesh, certDir, "sleep", "spiffe://cluster.local/ns/default/sa/sleep");
  const yaml = fixture("east-west-gateway.yaml").replaceAll("AUTO_PASSTHROUGH_PORT", String(autoPassthroughPort)).replaceAll("ISTIO_MUTUAL_PORT", String(istioMutualPort));
  await applyYaml(mesh, yaml);
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (mesh !== undefined) await resetToBaseline(mesh);
});

/**
 * One GET on a new TLS connection to 127.0.0.1:`port` with SNI `servername`, trusting the mesh root
 * and presenting `svid` (none: no client certificate). An SVID carries no DNS name, so Node's host
 * name check is off and the tests check the URI SAN themselves.
 */
const meshGet = (port: number, servername: string, options: { readonly host: string; readonly path: string; readonly svid: MeshSvid | undefined }): Promise<HttpsAnswer> =>
  httpsGet(port, servername, { ca: roots, host: options.host, path: options.path, skipHostnameCheck: true, ...(options.svid ? { client: { cert: options.svid.cert, key: options.svid.key } } : {}) });

/** GET /details/0 through the AUTO_PASSTHROUGH port with SNI `sni`, as details' client sidecar sends it. */
const throughEastWest = (sni: string): Promise<HttpsAnswer> => meshGet(autoPassthroughPort, sni, { host: `${detailsHost}:9080`, path: "/details/0", svid: client });

/** The answer when its status is 200; throws otherwise (eventually names the last error: the Gateway may not be in force yet). */
const ok = async (get: () => Promise<HttpsAnswer>): Promise<HttpsAnswer> => {
  const answer = await get();
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
  return answer;
};

/**
 * What the gateway does with a connection on the AUTO_PASSTHROUGH port with SNI `sni`: the answer
 * when one comes back, else the gateway's access-log entry for the refused connection. Retried
 * until one of the two is there (the refusal's log line comes a moment after the close), so a
 * listener that is not open yet (connection refused, no log line) is never taken for a refusal.
 */
async function verdictOn(sni: string): Promise<{ readonly answered: HttpsAnswer } | { readonly refused: Record<string, unknown> }> {
  const from = logOffset(mesh);
  return eventually(
    `the gateway's answer or refusal for SNI ${sni}`,
    async () => {
      const answered = await throughEastWest(sni).catch(() => undefined);
      if (answered !== undefined) return { answered };
      const line = accessLog(mesh, "ingress-gateway", from).find((l) => l.entry["requested_server_name"] === sni);
      return line === undefined ? undefined : { refused: line.entry };
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

describe("east-west gateway (AUTO_PASSTHROUGH)", () => {
  it("takes a sidecar's mutual TLS to the cluster its SNI names, where details' sidecar terminates it", async () => {
    const answer = await eventually("details through the AUTO_PASSTHROUGH port", () => ok(() => throughEastWest(detailsSni)), { timeoutMs: 30_000, intervalMs: 250 });
    expect(JSON.parse(answer.body)).toMatchObject({ id: 0, type: "paperback" });
    // The certificate the client verified is details' own SVID, not the gateway's: the gateway passed the TLS through.
    expect(answer.serverSans).toBe("URI:spiffe://cluster.local/ns/default/sa/bookinfo-details");
    // A subset's cluster (destination-rule-all.yaml's details v1) is named the same way.
    const subset = await throughEastWest(`outbound_.9080_.v1_.${detailsHost}`);
    expect(subset).toMatchObject({ status: 200, serverSans: "URI:spiffe://cluster.local/ns/default/sa/bookinfo-details" });
  });

  it("refuses an SNI naming the cluster of a host outside the server's hosts", async () => {
    // ratings' cluster exists (a sidecar's SNI for it is well formed); the server lists details only.
    const sni = "outbound_.9080_._.ratings.default.svc.cluster.local";
    expect(await verdictOn(sni)).toEqual({ refused: expect.objectContaining({ response_flags: "NR", requested_server_name: sni, upstream_cluster: null }) });
  });

  it("refuses an SNI that is not a cluster name (no VirtualService tls route takes it either)", async () => {
    expect(await verdictOn(detailsHost)).toEqual({ refused: expect.objectContaining({ response_flags: "NR", requested_server_name: detailsHost, upstream_cluster: null }) });
  });
});

describe("mesh-internal gateway (ISTIO_MUTUAL)", () => {
  const internalGet = (svid: MeshSvid | undefined): Promise<HttpsAnswer> => meshGet(istioMutualPort, "details.mesh.internal", { host: "details.mesh.internal", path: "/details/0", svid });

  it("serves a client with a mesh SVID through the Gateway's VirtualService, presenting the gateway's SVID", async () => {
    const answer = await eventually("details through the ISTIO_MUTUAL port", () => ok(() => internalGet(client)), { timeoutMs: 30_000, intervalMs: 250 });
    expect(JSON.parse(answer.body)).toMatchObject({ id: 0, type: "paperback" });
    expect(answer.serverSans).toBe("URI:spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account");
  });

  it("refuses a client without a certificate", async () => {
    await eventually("details through the ISTIO_MUTUAL port", () => ok(() => internalGet(client)), { timeoutMs: 30_000, intervalMs: 250 });
    await expect(internalGet(undefined)).rejects.toThrow();
  });
});
