// Data-driven gossip scenarios (testdata/*.txt, rewritable with UPDATE_TESTDATA=1): a seeded
// simulated cluster driven by directives, printing the events each member emits with their
// simulated time, so a change in protocol behaviour shows up as a reviewable diff.
//
//   add names=(a,b,c) [seed=N] [loss=P]   create members (the first add creates the cluster)
//   join from=b via=a                     b joins through a
//   run ms=N [only=(type,...)]            advance time; print events (optionally of some types)
//   crash name=c | leave name=b           stop abruptly | leave gracefully
//   partition side=(a,b) | heal           cut every link between side and the rest | restore
//   inject at=a from=b <message as JSON>  feed a raw protocol message to a member
//   members at=a                          a's view: name state incarnation
import { basename } from "node:path";
import { intArg, listArg, listTestdataFiles, runDataDriven, stringArg } from "@meshwork/testing";
import { describe, it } from "vitest";
import { encodeMessage, encodePacket } from "../src/index.ts";
import type { Message } from "../src/index.ts";
import { GossipSim } from "./gossip-sim.ts";

const dir = new URL("../testdata", import.meta.url).pathname;

function runScenario(path: string): void {
  let sim: GossipSim | undefined;
  let printed = 0;
  const need = (): GossipSim => {
    if (sim === undefined) throw new Error("add members first");
    return sim;
  };
  runDataDriven(path, (c) => {
    switch (c.cmd) {
      case "add": {
        sim ??= new GossipSim({ seed: intArg(c, "seed", 1), lossRate: Number(stringArg(c, "loss", "0")) });
        for (const name of listArg(c, "names")) sim.add(name);
        return "";
      }
      case "join":
        need().act(stringArg(c, "from"), (core) => core.join([stringArg(c, "via")]));
        return "";
      case "run": {
        const s = need();
        s.runFor(intArg(c, "ms"));
        const only = listArg(c, "only");
        const lines = s.events
          .slice(printed)
          .filter((e) => only.length === 0 || only.includes(e.event.type))
          .map((e) => {
            const ev = e.event;
            const about = "member" in ev ? ` ${ev.member.name} inc=${ev.member.incarnation}` : "name" in ev ? ` ${ev.name}` : "";
            const from = "from" in ev ? ` from=${ev.from}` : "";
            return `${(e.atMs / 1_000).toFixed(3)}s ${e.at}: ${ev.type}${about}${from}\n`;
          });
        printed = s.events.length;
        return lines.join("");
      }
      case "crash":
        need().crash(stringArg(c, "name"));
        return "";
      case "leave":
        need().act(stringArg(c, "name"), (core) => core.leave());
        return "";
      case "partition":
        need().partition(listArg(c, "side"));
        return "";
      case "heal":
        need().heal();
        return "";
      case "inject": {
        const message = JSON.parse(c.input) as Message;
        need().act(stringArg(c, "at"), (core) => core.step(encodePacket([encodeMessage(message)]), stringArg(c, "from")));
        return "";
      }
      case "members":
        return need()
          .core(stringArg(c, "at"))
          .members()
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((m) => `${m.name} ${m.state} inc=${m.incarnation}\n`)
          .join("");
      default:
        throw new Error(`${c.pos}: unknown directive ${c.cmd}`);
    }
  });
}

describe("gossip scenarios", () => {
  for (const path of listTestdataFiles(dir, ".txt")) {
    it(basename(path), () => runScenario(path));
  }
});
