// Certificates made with the openssl CLI, as Istio's gateway tasks make them: a self-signed CA
// (example.com), and leaves with a subject alternative name signed by it. P-256 keys, 2 days.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The files of an issued certificate. */
export interface IssuedFiles {
  readonly cert: string;
  readonly key: string;
}

/**
 * Writes `<dir>/<name>.key` and `<dir>/<name>.crt`: a certificate for `cn` with `san` (e.g.
 * `DNS:a.example.com`) signed by the CA whose files are `<caPrefix>.crt` / `.key`, or a
 * self-signed CA without `caPrefix`.
 */
export async function issueWithOpenssl(dir: string, name: string, cn: string, san: string, caPrefix?: string): Promise<IssuedFiles> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  if (caPrefix === undefined) {
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", `/O=example Inc./CN=${cn}`, "-keyout", key, "-out", cert]);
  } else {
    const csr = join(dir, `${name}.csr`);
    await run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${cn}`, "-keyout", key, "-out", csr]);
    const ext = join(dir, `${name}.ext`);
    await writeFile(ext, `subjectAltName=${san}\n`);
    await run("openssl", ["x509", "-req", "-sha256", "-days", "2", "-CA", `${caPrefix}.crt`, "-CAkey", `${caPrefix}.key`, "-CAcreateserial", "-in", csr, "-out", cert, "-extfile", ext]);
  }
  return { cert, key };
}

/** The PEM texts of issued files. */
export async function readIssued(issued: IssuedFiles): Promise<{ cert: string; key: string }> {
  return { cert: await readFile(issued.cert, "utf8"), key: await readFile(issued.key, "utf8") };
}
