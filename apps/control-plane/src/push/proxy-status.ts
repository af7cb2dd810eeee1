// What the control plane knows about each connected proxy, per resource type: the version and
// nonce it sent, the version the proxy ACKed, and the error of its last NACK (DESIGN.md §3.2;
// `meshctl proxy-status` shows SYNCED / STALE / NACKED from it).
import type { ProxyNode, ResourceType } from "@meshwork/proxy-core";

/** SYNCED: the proxy ACKed what was sent; STALE: a response is not answered yet; NACKED: the proxy rejected the last one. */
export type SyncState = "SYNCED" | "STALE" | "NACKED";

export interface TypeStatus {
  readonly sentVersion: string;
  readonly sentNonce: string;
  /** ms since the epoch. */
  readonly sentAtMs: number;
  /** "" before the first ACK. */
  readonly ackedVersion: string;
  /** The error of the NACK of `sentNonce`, if the proxy rejected it. */
  readonly nackError: string | undefined;
  readonly state: SyncState;
}

export interface ProxyStatus {
  readonly node: ProxyNode;
  readonly controlPlaneId: string;
  readonly connectedAtMs: number;
  /** The config revision the proxy's last computed config came from (undefined before the first). */
  readonly revision: string | undefined;
  readonly types: Partial<Record<ResourceType, TypeStatus>>;
  /** Worst state over the types (NACKED > STALE > SYNCED). */
  readonly state: SyncState;
}

/** The state of a type from what was sent and what came back. */
export function syncState(status: Pick<TypeStatus, "sentVersion" | "ackedVersion" | "nackError">): SyncState {
  if (status.nackError !== undefined) return "NACKED";
  return status.ackedVersion === status.sentVersion ? "SYNCED" : "STALE";
}

/** NACKED if any type is, else STALE if any type is, else SYNCED. */
export function worstState(states: readonly SyncState[]): SyncState {
  if (states.includes("NACKED")) return "NACKED";
  if (states.includes("STALE")) return "STALE";
  return "SYNCED";
}
