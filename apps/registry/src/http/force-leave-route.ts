// PUT /v1/agent/force-leave/:node[?prune] on a server and on a client agent (Consul's force-leave):
// the local gossip member sends a leave intent for a failed member; with ?prune every member also
// forgets it. A server that was force-left is then removed from Raft by the leader's reconcile.
import type { ForceLeaveOutcome } from "@meshwork/gossip";
import type { ApiResponse } from "./api-context.ts";
import { HttpError, badRequest } from "./http-error.ts";

/** Answers a force-leave of `node` through `forceLeave` (undefined: this agent does not gossip). */
export function answerForceLeave(forceLeave: ((name: string, prune: boolean) => ForceLeaveOutcome) | undefined, node: string, query: URLSearchParams): ApiResponse {
  if (forceLeave === undefined) {
    throw badRequest("force-leave needs this agent in a gossip pool, and it does not gossip: start it with --gossip-port (0 picks one) and --retry-join a member's gossip address");
  }
  if (node === "") throw badRequest("Missing node name: PUT /v1/agent/force-leave/<node>[?prune]");
  if (query.has("wan")) throw badRequest("?wan: there is no WAN pool; force-leave without ?wan");
  // Consul's ?prune takes no value (a present flag); "?prune=false" is taken as asked, not as on.
  const prune = query.has("prune") && query.get("prune") !== "false";
  const outcome = forceLeave(decodeURIComponent(node), prune);
  if (!outcome.ok) {
    if (outcome.reason === "self") throw badRequest(`"${node}" is this agent itself: to leave, PUT /v1/agent/leave`);
    throw new HttpError(404, `agent: No node found with name '${node}': force-leave takes a member name from GET /v1/agent/members`);
  }
  return { status: 200, headers: {}, body: "" };
}
