// Identity from a directory in Istio's layout (what istio-agent writes for Envoy, and what a
// mounted secret holds): cert-chain.pem (leaf first), key.pem, root-cert.pem. The directory is
// watched; a complete, valid new set replaces the identity, a broken one is logged and the last
// good identity keeps serving.
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { splitPem } from "@meshwork/pki";
import type { Logger } from "@meshwork/telemetry";
import { bundlesFor, tlsIdentityOf, type IdentitySource, type TlsIdentity } from "./tls-identity.ts";

/** Istio's file names in a certificate directory. */
export const certDirFiles = { certChain: "cert-chain.pem", key: "key.pem", rootCert: "root-cert.pem" } as const;

/** Reads the three files of `dir`; the error names the file and what is wrong with it. */
export async function loadCertDir(dir: string, trustDomain: string): Promise<{ readonly ok: true; readonly identity: TlsIdentity } | { readonly ok: false; readonly message: string }> {
  const read = async (name: string): Promise<string | { error: string }> => {
    try {
      return await readFile(join(dir, name), "utf8");
    } catch (error) {
      return { error: `--cert-dir: cannot read ${join(dir, name)} (${(error as NodeJS.ErrnoException).code ?? String(error)}); the directory needs ${Object.values(certDirFiles).join(", ")}` };
    }
  };
  const [chainText, keyPem, rootText] = await Promise.all([read(certDirFiles.certChain), read(certDirFiles.key), read(certDirFiles.rootCert)]);
  for (const text of [chainText, keyPem, rootText]) if (typeof text !== "string") return { ok: false, message: text.error };
  const certificates = (text: string, name: string): Uint8Array[] | string => {
    const split = splitPem(text);
    if (!split.ok) return `--cert-dir: ${join(dir, name)} is not PEM: ${split.detail}`;
    const ders = split.blocks.filter((b) => b.label === "CERTIFICATE").map((b) => b.der);
    return ders.length === 0 ? `--cert-dir: ${join(dir, name)} holds no CERTIFICATE block` : ders;
  };
  const chain = certificates(chainText as string, certDirFiles.certChain);
  if (typeof chain === "string") return { ok: false, message: chain };
  const roots = certificates(rootText as string, certDirFiles.rootCert);
  if (typeof roots === "string") return { ok: false, message: roots };
  const built = tlsIdentityOf({ chain, keyPem: keyPem as string, bundles: bundlesFor(trustDomain, roots) });
  return built.ok ? built : { ok: false, message: `--cert-dir: ${join(dir, certDirFiles.certChain)}: ${built.message}` };
}

/**
 * Loads `dir` and keeps watching it (100 ms debounce, like --config). Resolves once the first
 * identity is loaded; rejects with the loader's message when the directory is unusable at start.
 */
export async function watchCertDir(dir: string, options: { readonly trustDomain: string; readonly logger: Logger }): Promise<IdentitySource> {
  const first = await loadCertDir(dir, options.trustDomain);
  if (!first.ok) throw new Error(first.message);
  let current: TlsIdentity = first.identity;
  const listeners = new Set<(identity: TlsIdentity) => void>();
  let timer: NodeJS.Timeout | undefined;
  const reload = async (): Promise<void> => {
    const next = await loadCertDir(dir, options.trustDomain);
    if (!next.ok) {
      options.logger.warn("certificate directory changed but is not usable; the current certificate keeps serving", { detail: next.message });
      return;
    }
    if (next.identity.certPem === current.certPem && next.identity.caPem === current.caPem && next.identity.keyPem === current.keyPem) return;
    current = next.identity;
    options.logger.info("certificate reloaded", { spiffeId: current.spiffeId, serial: current.serialHex, notAfter: current.notAfter.toISOString() });
    for (const listener of listeners) listener(current);
  };
  const watcher: FSWatcher = watch(dir, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reload(), 100);
  });
  watcher.on("error", (error) => options.logger.warn("certificate directory watch failed", { err: error }));
  return {
    current: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
