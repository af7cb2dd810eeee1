// The injector as the control plane runs it: HTTPS from the mounted key and certificate, a real
// AdmissionReview over TLS, and a renewed certificate picked up from the files without a restart.
import "reflect-metadata";
import { webcrypto, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import * as x509 from "@peculiar/x509";
import { createLogger } from "@meshwork/telemetry";
import { afterEach, describe, expect, it } from "vitest";
import type { AdmissionReviewResponse } from "./admission-review.ts";
import { defaultInjectionTemplate } from "./injection-template.ts";
import { startInjectorServer, type RunningInjector } from "./start-injector-server.ts";

const dnsName = "control-plane.mesh-system.svc";
let dir = "";
let injector: RunningInjector | undefined;

afterEach(async () => {
  await injector?.close();
  injector = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A logger whose lines can be awaited. */
function capturingLogger() {
  const lines: string[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  const logger = createLogger({
    name: "control-plane",
    now: () => new Date(0),
    write: (line) => {
      lines.push(line);
      for (const waiter of [...waiters]) if (line.includes(waiter.text)) waiter.resolve();
    },
  });
  const waitFor = (text: string) => (lines.some((l) => l.includes(text)) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text, resolve })));
  return { logger, lines, waitFor };
}

/** Writes the files the way the kubelet updates a Secret volume: new files, then a rename. */
function writeTls(tls: { key: string; cert: string }) {
  writeFileSync(join(dir, "tls.key.tmp"), tls.key);
  writeFileSync(join(dir, "tls.crt.tmp"), tls.cert);
  renameSync(join(dir, "tls.key.tmp"), join(dir, "tls.key"));
  renameSync(join(dir, "tls.crt.tmp"), join(dir, "tls.crt"));
}

function servedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: dnsName, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? "");
      socket.end();
    });
    socket.on("error", reject);
  });
}

describe("startInjectorServer", () => {
  it("serves AdmissionReviews over HTTPS with the mounted certificate and reloads a renewed one", async () => {
    dir = mkdtempSync(join(tmpdir(), "meshwork-injector-"));
    const first = await selfSigned(dnsName, "01");
    writeTls(first);
    const { logger, waitFor } = capturingLogger();
    injector = await startInjectorServer({ host: "127.0.0.1", port: 0, tlsCertFile: join(dir, "tls.crt"), tlsKeyFile: join(dir, "tls.key"), template: defaultInjectionTemplate, logger });

    const review = readFileSync(join(import.meta.dirname, "testdata/pod-create-review.json"), "utf8");
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: injector?.port, path: "/inject", method: "POST", ca: first.cert, servername: dnsName, headers: { "content-type": "application/json" } }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end(review);
    });
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.body) as AdmissionReviewResponse).response.patchType).toBe("JSONPatch");
    expect(await servedCertificate(injector.port)).toBe(new X509Certificate(first.cert).fingerprint256);

    const second = await selfSigned(dnsName, "02");
    writeTls(second);
    await waitFor("injector TLS certificate reloaded");
    expect(await servedCertificate(injector.port)).toBe(new X509Certificate(second.cert).fingerprint256);
  });

  it("fails to start naming the TLS files and the Secret when they are missing", async () => {
    const { logger } = capturingLogger();
    await expect(startInjectorServer({ host: "127.0.0.1", port: 0, tlsCertFile: "/nonexistent/tls.crt", tlsKeyFile: "/nonexistent/tls.key", template: defaultInjectionTemplate, logger })).rejects.toThrow(
      /cannot read the injector's TLS files \(\/nonexistent\/tls.crt, \/nonexistent\/tls.key\).*meshwork-injector-tls/,
    );
  });
});

/** A self-signed P-256 certificate for `name`, as PEM. */
async function selfSigned(name: string, serialNumber: string): Promise<{ key: string; cert: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name: `CN=${name}`,
    notBefore: new Date(Date.UTC(2020, 0, 1)),
    notAfter: new Date(Date.UTC(2100, 0, 1)),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"],
    signingAlgorithm: algorithm,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: name }]), new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----\n`;
  return { key, cert: certificate.toString("pem") };
}
