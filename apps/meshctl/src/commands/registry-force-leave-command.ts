// `meshctl registry force-leave [--prune] NODE`: tells the registry's gossip pool that a failed
// member has left (PUT /v1/agent/force-leave/NODE[?prune], what `consul force-leave` calls), so it
// stops being probed and, for a server, the leader removes it from Raft. With --prune every member
// also forgets it at once instead of keeping it listed as "left" for a while.

import { defineSettings } from "@meshwork/runtime";
import { defineCommand, formatUsageError } from "./command.ts";
import { REGISTRY_EXIT, addrSetting, callRegistry, registryRefused } from "./registry-commands.ts";

const settings = defineSettings({
  ...addrSetting,
  prune: { type: "boolean", default: false, description: "Remove the member from every member's list right away (consul force-leave -prune)." },
});

export const registryForceLeaveCommand = defineCommand({
  name: "registry force-leave",
  summary: "Force a failed member out of the registry's gossip pool (PUT /v1/agent/force-leave/NODE).",
  usage: "meshctl registry force-leave [--prune] NODE [--registry-addr URL]",
  description: [
    "Marks NODE (its name in `meshctl registry members`) as left, as consul force-leave does: for a member that failed",
    "and will not come back. A failed server is then removed from the Raft configuration by the leader.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl registry force-leave n3", "  meshctl registry force-leave --prune n3", "", "Exit codes: 0 done, 1 the registry refused (no such member) or cannot be reached, 2 usage error."].join("\n"),
  settings,
  positionals: { min: 1, max: 1 },
  run: async ({ registryAddr, prune }, context, [node = ""]) => {
    const name = "registry force-leave";
    const answer = await callRegistry(context, registryAddr, "PUT", `/v1/agent/force-leave/${encodeURIComponent(node)}${prune ? "?prune" : ""}`);
    if (!answer.ok) {
      context.io.writeErr(formatUsageError(name, answer.message));
      return REGISTRY_EXIT.failed;
    }
    if (answer.status !== 200) return registryRefused(context, name, answer);
    context.io.writeOut(`Forced ${node} to leave the gossip pool${prune ? " and pruned it" : ""}.\n`);
    return REGISTRY_EXIT.ok;
  },
});
