// `meshctl token issue`: mints a workload token (ES256 JWT, like an Istio/SPIRE join token) with the
// mesh token issuer's key from the CA's data dir and prints it, so a workload can attest to apps/ca
// (docs/design/identity.md, DESIGN.md §3.3).

import { join } from "node:path";
import { parseTrustDomain, workloadId } from "@meshwork/pki";
import { defineSettings } from "@meshwork/runtime";
import { importTokenIssuerKey, mintWorkloadToken, tokenIssuerFiles } from "@meshwork/workload-identity";
import { EXIT_CODES } from "../core/exit-codes.ts";
import { parseDurationSeconds } from "../core/parse-duration-seconds.ts";
import { defineCommand, formatUsageError } from "./command.ts";

const tokenIssueSettings = defineSettings({
  caDataDir: {
    type: "string",
    required: true,
    env: "MESHWORK_CA_DATA_DIR",
    valueName: "DIR",
    description: `The CA's data dir (its --data-dir), holding ${tokenIssuerFiles.privateKey}.`,
  },
  namespace: { type: "string", short: "n", required: true, env: "MESHWORK_NAMESPACE", description: "Namespace of the workload (the token's ns claim)." },
  serviceAccount: { type: "string", required: true, env: "MESHWORK_SERVICE_ACCOUNT", valueName: "NAME", description: "Service account of the workload (the sa claim)." },
  trustDomain: { type: "string", default: "cluster.local", env: "MESHWORK_TRUST_DOMAIN", description: "Trust domain the token is for (the td claim); must be the CA's." },
  ttl: { type: "string", default: "1h", env: "MESHWORK_TOKEN_TTL", valueName: "DURATION", description: 'How long the token is valid: "90s", "30m", "1h", "1d", "1h30m".' },
  oneTime: { type: "boolean", env: "MESHWORK_TOKEN_ONE_TIME", description: "Add a random jti: the CA accepts the token once (a bootstrap token)." },
  audience: { type: "string", default: "meshwork-ca", env: "MESHWORK_TOKEN_AUDIENCE", description: "The aud claim; must be the CA's --token-audience." },
  issuer: { type: "string", default: "meshwork", env: "MESHWORK_TOKEN_ISSUER", description: "The iss claim; must be the CA's --token-issuer." },
});

export const tokenIssueCommand = defineCommand({
  name: "token issue",
  summary: "Mint a workload token the CA accepts as proof of a namespace and service account.",
  usage: "meshctl token issue --ca-data-dir DIR -n NAMESPACE --service-account NAME [flags]",
  description: [
    "Prints a workload token (an ES256 JWT with iss, aud, iat, nbf, exp, ns, sa, td and, with --one-time, jti)",
    `signed with the mesh token issuer's key (${tokenIssuerFiles.privateKey}, created by the CA on first start).`,
    "A workload sends it with its CSR; the CA issues spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/NAME and nothing else.",
    "Treat the token as a secret until it expires.",
  ].join("\n"),
  footer: [
    "Examples:",
    "  meshctl token issue --ca-data-dir .meshwork/ca -n shop --service-account web",
    "  MESHWORK_CA_DATA_DIR=/var/lib/meshwork/ca meshctl token issue -n shop --service-account web --ttl 10m --one-time",
    "",
    "Exit codes: 0 token printed, 2 usage error (bad flag, invalid name, unreadable or invalid key file), 130/143 interrupted.",
  ].join("\n"),
  settings: tokenIssueSettings,
  run: async (settings, { io, logger }) => {
    const usageError = (message: string): number => {
      io.writeErr(formatUsageError("token issue", message));
      return EXIT_CODES.usage;
    };
    const ttl = parseDurationSeconds(settings.ttl);
    if (!ttl.ok) return usageError(`invalid value for --ttl: ${ttl.detail}`);
    const trustDomain = parseTrustDomain(settings.trustDomain);
    if (!trustDomain.ok) return usageError(`invalid --trust-domain "${settings.trustDomain}": ${trustDomain.detail}`);
    const id = workloadId({ trustDomain: trustDomain.trustDomain, namespace: settings.namespace, serviceAccount: settings.serviceAccount });
    if (!id.ok) return usageError(`--namespace "${settings.namespace}" and --service-account "${settings.serviceAccount}" do not form a SPIFFE ID: ${id.detail}`);

    const keyPath = join(settings.caDataDir, tokenIssuerFiles.privateKey);
    logger.debug("reading token issuer key", { path: keyPath });
    const read = await io.readTextFile(keyPath);
    if (!read.ok) {
      return usageError(
        `cannot read the token issuer key "${read.path}": ${read.reason}. Point --ca-data-dir (MESHWORK_CA_DATA_DIR) at the CA's --data-dir, ` +
          "which the CA fills on its first start, and run meshctl as a user that may read it.",
      );
    }
    const key = await importTokenIssuerKey(read.source.text, io.crypto);
    if (!key.ok) return usageError(`"${keyPath}" is ${key.detail}; it must be the ${tokenIssuerFiles.privateKey} the CA created in its --data-dir.`);

    const token = await mintWorkloadToken({
      privateKey: key.privateKey,
      issuer: settings.issuer,
      audience: settings.audience,
      namespace: settings.namespace,
      serviceAccount: settings.serviceAccount,
      trustDomain: trustDomain.trustDomain,
      now: io.now(),
      ttlSeconds: ttl.seconds,
      ...(settings.oneTime ? { jti: io.crypto.randomUUID() } : {}),
      crypto: io.crypto,
    });
    logger.info("issued workload token", { spiffeId: id.id, ttlSeconds: ttl.seconds, oneTime: settings.oneTime });
    io.writeOut(`${token}\n`);
    return EXIT_CODES.clean;
  },
});
