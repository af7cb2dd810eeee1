// The JWT side of the Workload API for an agent that gets its identity from the CA: JWT-SVIDs
// minted by CreateJwtSvid and kept per audience set until half their lifetime has passed (as the
// SPIRE agent caches them), and the JWT authorities the agent follows from WatchTrustBundle.
import type { TrustDomain } from "@meshwork/pki";
import type { WorkloadAgent } from "./workload-agent.ts";

/** A JWT-SVID as the Workload API returns it. */
export interface JwtSvidToken {
  readonly spiffeId: string;
  /** JWS Compact Serialization. */
  readonly token: string;
}

/** Where the Workload API gets JWT-SVIDs and JWT bundles. */
export interface JwtSvidSource {
  /** JWK Set JSON by trust domain. */
  authorities(): ReadonlyMap<TrustDomain, string>;
  /** Calls `listener` on every change of the authorities; returns the unsubscribe function. */
  onAuthoritiesChange(listener: () => void): () => void;
  /** A JWT-SVID of the workload's ID for `audiences` (one at least). Rejects when the CA refuses or cannot be reached. */
  fetch(audiences: readonly string[]): Promise<JwtSvidToken>;
}

/** What the CA answered to CreateJwtSvid. */
export interface MintedJwtSvid extends JwtSvidToken {
  readonly expiresAtSeconds: number;
}

/**
 * A JwtSvidSource over `agent`'s JWT authorities and `mint` (a CreateJwtSvid call). A cached
 * token is served again while less than half of its lifetime has passed (measured from when it
 * was received); concurrent requests for the same audiences share one call.
 */
export function agentJwtSvidSource(agent: WorkloadAgent, options: { readonly mint: (audiences: readonly string[]) => Promise<MintedJwtSvid>; readonly clock: () => Date }): JwtSvidSource {
  const cache = new Map<string, { readonly svid: JwtSvidToken; readonly refreshAtMs: number }>();
  const inFlight = new Map<string, Promise<JwtSvidToken>>();
  return {
    authorities: () => agent.jwtAuthorities,
    onAuthoritiesChange: (listener) => agent.onJwtAuthorities(() => listener()),
    fetch(audiences) {
      const key = JSON.stringify([...new Set(audiences)].sort());
      const nowMs = options.clock().getTime();
      const cached = cache.get(key);
      if (cached && nowMs < cached.refreshAtMs) return Promise.resolve(cached.svid);
      let pending = inFlight.get(key);
      if (!pending) {
        pending = options.mint(audiences).then(
          (minted) => {
            inFlight.delete(key);
            const svid = { spiffeId: minted.spiffeId, token: minted.token };
            const receivedMs = options.clock().getTime();
            // Expired entries are dropped whenever a new one is cached: the map stays as large as the audience sets in use.
            for (const [k, entry] of cache) if (entry.refreshAtMs <= receivedMs) cache.delete(k);
            cache.set(key, { svid, refreshAtMs: receivedMs + (minted.expiresAtSeconds * 1000 - receivedMs) / 2 });
            return svid;
          },
          (error: unknown) => {
            inFlight.delete(key);
            throw error;
          },
        );
        inFlight.set(key, pending);
      }
      return pending;
    },
  };
}
