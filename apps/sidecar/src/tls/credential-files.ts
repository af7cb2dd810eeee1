// A credential (Istio's `credentialName`) is a secret mounted as the directory `--credential-dir
// DIR/NAME`: `tls.crt`, `tls.key`, `ca.crt` as a Kubernetes TLS secret has them, or `cert`, `key`,
// `cacert` (Istio's generic secret keys); the CA certificates may also come from a secret
// `NAME-cacert`, and a revocation list from `ca.crl`. Every path looked at is stamped (inode, size,
// mtime), so a secret volume's atomic swap, a rewrite or a file that appears is noticed.
import { statSync } from "node:fs";
import { join } from "node:path";

/** Stamps of the files some material was read from, by path ("" for one that was absent). */
export type Stamps = Map<string, string>;

/** The files of a credential that exist (undefined: absent). */
export interface CredentialFiles {
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly ca: string | undefined;
  readonly crl: string | undefined;
}

export function findCredentialFiles(dir: string, name: string, stamps: Stamps): CredentialFiles {
  const secret = join(dir, name);
  return {
    cert: firstExisting(stamps, secret, ["tls.crt", "cert"]),
    key: firstExisting(stamps, secret, ["tls.key", "key"]),
    ca: firstExisting(stamps, secret, ["ca.crt", "cacert"]) ?? firstExisting(stamps, join(dir, `${name}-cacert`), ["ca.crt", "cacert"]),
    crl: firstExisting(stamps, secret, ["ca.crl"]),
  };
}

/** Whether any stamped file changed, appeared or went away since it was stamped. */
export function stampsChanged(stamps: Stamps): boolean {
  for (const [path, stamp] of stamps) if (stampOf(path) !== stamp) return true;
  return false;
}

/** A file's identity and version ("" when absent): a replaced or rewritten file gets another. */
export function stampOf(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return "";
  }
}

/** The first of `names` in `dir` that exists, or undefined; every name looked at is stamped. */
function firstExisting(stamps: Stamps, dir: string, names: readonly string[]): string | undefined {
  for (const name of names) {
    const path = join(dir, name);
    const stamp = stampOf(path);
    stamps.set(path, stamp);
    if (stamp !== "") return path;
  }
  return undefined;
}
