// What tls/pki-checks.ts loads on demand (a module of ours, so the library itself is imported statically everywhere).
export { spiffeServerIdentityCheck, verifyClientChain } from "@meshwork/pki";
