// Workload certificates of the local mesh for test clients that must present what a sidecar
// presents: an X.509-SVID (SPIFFE X509-SVID §4, §5) chaining to the mesh root in `<state>/ca`.
// The e2e suite may use only the test kit (eslint's module boundaries), not the CA's gRPC client,
// so the leaf is signed with openssl by the root's own key, as an operator holding the root could;
// peers verify it exactly as a sidecar's CA-issued SVID (same trust bundle, same leaf profile).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { MeshEndpoints } from "./local-mesh.ts";

const run = promisify(execFile);

/** PEM texts of a workload certificate and its key. */
export interface MeshSvid {
  readonly spiffeId: string;
  readonly cert: string;
  readonly key: string;
}

/** The CA's data dir in the local mesh's state (meshctl's plan: `<state>/ca`, root-cert.pem and root-key.pem). */
const caDataDir = (mesh: MeshEndpoints): string => join(mesh.stateDir, "ca");

/** The mesh root a client trusts to verify sidecars and gateways (`<state>/ca/root-cert.pem`). */
export function meshRootPem(mesh: MeshEndpoints): Promise<string> {
  return readFile(join(caDataDir(mesh), "root-cert.pem"), "utf8");
}

/**
 * Writes `<dir>/<name>.key|.crt`: a P-256 SVID for `spiffeId`, valid one day, signed by the mesh
 * root, with the leaf profile verify-svid checks (one URI SAN, not a CA, digitalSignature,
 * serverAuth + clientAuth).
 */
export async function issueMeshSvid(mesh: MeshEndpoints, dir: string, name: string, spiffeId: string): Promise<MeshSvid> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/O=meshwork e2e/CN=${name}`, "-keyout", key, "-out", csr]);
  await writeFile(ext, [`subjectAltName=critical,URI:${spiffeId}`, "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=serverAuth,clientAuth", ""].join("\n"));
  // An explicit serial: -CAcreateserial would write a .srl file into the CA's data dir.
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const ca = caDataDir(mesh);
  await run("openssl", ["x509", "-req", "-sha256", "-days", "1", "-in", csr, "-CA", join(ca, "root-cert.pem"), "-CAkey", join(ca, "root-key.pem"), "-set_serial", `0x${serial.toString("hex")}`, "-extfile", ext, "-out", cert]);
  return { spiffeId, cert: await readFile(cert, "utf8"), key: await readFile(key, "utf8") };
}
