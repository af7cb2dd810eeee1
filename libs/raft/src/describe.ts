// One-line text forms of entries, messages and Readies, for logs, traces of simulated runs and the
// golden files of the interaction tests. Stable output: tests compare it byte for byte.
import { decodeConfChange } from "./conf-change.ts";
import type { ConfChange } from "./conf-change.ts";
import type { ConfState, Entry, HardState } from "./entry.ts";
import type { Message } from "./message.ts";
import type { Ready } from "./raw-node.ts";
import { decodeUtf8 } from "./utf8.ts";

/** Entry data as a quoted string when it is printable UTF-8, else as hex. */
export function describeData(data: Uint8Array): string {
  const text = decodeUtf8(data);
  // eslint-disable-next-line no-control-regex
  if (text !== undefined && !/[\u0000-\u001f\u007f]/.test(text)) return JSON.stringify(text);
  return `0x${Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** `term/index type payload`, e.g. `2/11 normal "x"` or `2/12 conf-change add-voter 4`. */
export function describeEntry(entry: Entry): string {
  if (entry.type === "conf-change") return `${entry.term}/${entry.index} conf-change ${describeConfChange(decodeConfChange(entry.data))}`;
  return `${entry.term}/${entry.index} normal ${describeData(entry.data)}`;
}

/** `add-voter 4` (with the context quoted after it, if any). */
export function describeConfChange(change: ConfChange): string {
  return `${change.type} ${change.nodeId}${change.context === undefined ? "" : ` ${JSON.stringify(change.context)}`}`;
}

/** `voters=(1,2,3) learners=(4)`. */
export function describeConfState(state: ConfState): string {
  return `voters=(${state.voters.join(",")})${state.learners.length > 0 ? ` learners=(${state.learners.join(",")})` : ""}`;
}

/** `term=2 vote=1 commit=11`. */
export function describeHardState(state: HardState): string {
  return `term=${state.term} vote=${state.vote ?? "-"} commit=${state.commit}`;
}

/** `1->2 app term=2 log=1/11 commit=11 entries=[2/12 normal ""]` and the like. */
export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case "app":
      return `${head} log=${m.logTerm}/${m.index} commit=${m.commit}${m.entries.length > 0 ? ` entries=[${m.entries.map(describeEntry).join(", ")}]` : ""}`;
    case "app-resp":
      return m.reject ? `${head} rejected=${m.index} hint=${m.logTerm}/${m.rejectHint}` : `${head} index=${m.index}`;
    case "vote":
    case "pre-vote":
      return `${head} last=${m.logTerm}/${m.index}${m.transfer ? " transfer" : ""}`;
    case "vote-resp":
    case "pre-vote-resp":
      return `${head}${m.reject ? " rejected" : ""}`;
    case "heartbeat":
      return `${head} commit=${m.commit}${m.context === null ? "" : ` context=${m.context}`}`;
    case "heartbeat-resp":
      return `${head}${m.context === null ? "" : ` context=${m.context}`}`;
    case "snap": {
      const { index, term, confState } = m.snapshot.metadata;
      return `${head} snapshot=${term}/${index} ${describeConfState(confState)}`;
    }
    case "timeout-now":
      return head;
    case "read-index":
      return `${head} context=${m.context}`;
    case "read-index-resp":
      return `${head} index=${m.index} context=${m.context}`;
    case "prop":
      return `${head} entries=[${m.entries.map((e) => (e.type === "normal" ? describeData(e.data) : `conf-change ${describeConfChange(decodeConfChange(e.data))}`)).join(", ")}]`;
    case "transfer-leader":
      return `${head} transferee=${m.transferee}`;
  }
}

/** A multi-line description of a Ready, one item per line, sections omitted when empty. */
export function describeReady(ready: Ready): string {
  const lines: string[] = [];
  if (ready.softState !== undefined) lines.push(`lead=${ready.softState.lead ?? "-"} state=${ready.softState.state}`);
  if (ready.hardState !== undefined) lines.push(`hard-state ${describeHardState(ready.hardState)}${ready.mustSync ? "" : " (no sync)"}`);
  if (ready.snapshot !== undefined) {
    const { index, term, confState } = ready.snapshot.metadata;
    lines.push(`snapshot ${term}/${index} ${describeConfState(confState)}`);
  }
  if (ready.entries.length > 0) lines.push("entries:", ...ready.entries.map((e) => `  ${describeEntry(e)}`));
  if (ready.committedEntries.length > 0) lines.push("committed:", ...ready.committedEntries.map((e) => `  ${describeEntry(e)}`));
  if (ready.readStates.length > 0) lines.push("read-states:", ...ready.readStates.map((r) => `  index=${r.index} context=${r.context}`));
  if (ready.messages.length > 0) lines.push("messages:", ...ready.messages.map((m) => `  ${describeMessage(m)}`));
  return lines.join("\n");
}
