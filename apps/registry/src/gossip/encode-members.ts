// Gossip members in Consul's `/v1/agent/members` JSON shape (api.AgentMember): Name, Addr, Port,
// Tags, numeric serf Status and the protocol ranges. Pure.
import { hostOf } from "./plan-member-reconcile.ts";

/** serf.MemberStatus: None 0, Alive 1, Leaving 2, Left 3, Failed 4. */
export const memberStatus = { alive: 1, leaving: 2, left: 3, failed: 4 } as const;

/** The member fields this encoder reads (a @meshwork/gossip MemberView satisfies it). */
export interface MemberForApi {
  readonly name: string;
  readonly address: string;
  readonly state: "alive" | "suspect" | "dead" | "left";
  readonly tags: Readonly<Record<string, string>>;
}

/** Consul's api.AgentMember. */
export type AgentMemberJson = {
  readonly Name: string;
  readonly Addr: string;
  readonly Port: number;
  readonly Tags: Readonly<Record<string, string>>;
  readonly Status: number;
  readonly ProtocolMin: number;
  readonly ProtocolMax: number;
  readonly ProtocolCur: number;
  readonly DelegateMin: number;
  readonly DelegateMax: number;
  readonly DelegateCur: number;
};

export interface ProtocolVersions {
  /** The gossip wire version (memberlist's protocol version). */
  readonly protocol: number;
  /** The event/query layer's version (serf's delegate version). */
  readonly delegate: number;
}

/** One member; `leaving` marks this node between its leave and its exit (serf StatusLeaving). */
export function encodeMember(member: MemberForApi, versions: ProtocolVersions, leaving = false): AgentMemberJson {
  const port = Number(member.address.slice(member.address.lastIndexOf(":") + 1));
  const status = leaving ? memberStatus.leaving : member.state === "dead" ? memberStatus.failed : member.state === "left" ? memberStatus.left : memberStatus.alive;
  return {
    Name: member.name,
    Addr: hostOf(member.address),
    Port: Number.isInteger(port) ? port : 0,
    Tags: { ...member.tags },
    Status: status,
    ProtocolMin: versions.protocol,
    ProtocolMax: versions.protocol,
    ProtocolCur: versions.protocol,
    DelegateMin: versions.delegate,
    DelegateMax: versions.delegate,
    DelegateCur: versions.delegate,
  };
}

/** Every member, sorted by name (Consul's order is serf's map order; a stable one is kinder to diffs). */
export function encodeMembers(members: readonly MemberForApi[], versions: ProtocolVersions, selfName?: string, selfLeaving = false): AgentMemberJson[] {
  return [...members]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((member) => encodeMember(member, versions, selfLeaving && member.name === selfName && member.state === "left"));
}
