// The kit end to end: clients of a one-server KV talk over a faulty simulated network, their
// history is checked for linearizability, and a server that forgets to deduplicate retried and
// duplicated requests is caught. Every failure names its seed (SEED=n reruns it).

import { describe, expect, it } from "vitest";
import {
  applyKvInput,
  checkLinearizable,
  createSeededRandom,
  forEachSeed,
  SimNetwork,
  type KvInput,
  type KvOperation,
  type KvOutput,
  type SeededRandom,
} from "../src/index.ts";

type Msg =
  | { readonly from: string; readonly to: "server"; readonly type: "request"; readonly id: number; readonly input: KvInput }
  | { readonly from: "server"; readonly to: string; readonly type: "response"; readonly id: number; readonly output: KvOutput };

interface Pending {
  readonly id: number;
  readonly input: KvInput;
  readonly call: number;
  deadline: number;
  retries: number;
}

const CLIENTS = ["c1", "c2", "c3"];
const TIMEOUT_TICKS = 20;

function randomInput(random: SeededRandom, id: number): KvInput {
  const key = random.pick(["x", "y"]);
  switch (random.int(0, 3)) {
    case 0:
      return { op: "get", key };
    case 1:
      return { op: "put", key, value: `v${id}` };
    case 2:
      return { op: "append", key, value: `+${id}` };
    default:
      return { op: "cas", key, expected: random.pick([null, `v${id - 1}`, `v${id - 2}`]), value: `v${id}` };
  }
}

/** Runs one simulation and returns the clients' history (times are ticks). */
function simulate(seed: number, options: { readonly deduplicate: boolean }): KvOperation[] {
  const random = createSeededRandom(seed);
  const network = new SimNetwork<Msg>({
    random: random.fork(),
    faults: { dropRate: 0.1, duplicateRate: 0.2, minDelayTicks: 1, maxDelayTicks: 8, reorder: true },
  });
  const clientRandom = random.fork();
  const store = new Map<string, string>();
  const answered = new Map<number, KvOutput>();
  const waiting = new Map<string, Pending>();
  const history: KvOperation[] = [];
  let nextId = 1;



  for (let now = 0; now < 400; now++) {
    for (const message of network.deliverable(now)) {
      if (message.type === "request") {
        let output = options.deduplicate ? answered.get(message.id) : undefined;
        if (output === undefined) {
          output = applyKvInput(store, message.input);
          answered.set(message.id, output);
        }
        network.send([{ from: "server", to: message.from, type: "response", id: message.id, output }]);
      } else {
        const op = waiting.get(message.to);
        if (op?.id !== message.id) continue; // a late or duplicated response
        history.push({ clientId: message.to, input: op.input, call: op.call, return: now, output: message.output });
        waiting.delete(message.to);
      }
    }
    for (const client of CLIENTS) {
      const op = waiting.get(client);
      if (op !== undefined && now >= op.deadline) {
        if (op.retries < 2) {
          op.retries += 1;
          op.deadline = now + TIMEOUT_TICKS;
          network.send([{ from: client, to: "server", type: "request", id: op.id, input: op.input }]);
        } else {
          // Gave up: the request may or may not have been applied.
          history.push({ clientId: client, input: op.input, call: op.call, return: undefined });
          waiting.delete(client);
        }
      }
      if (!waiting.has(client) && now < 300 && clientRandom.bool(0.5)) {
        const id = nextId++;
        const input = randomInput(clientRandom, id);
        waiting.set(client, { id, input, call: now, deadline: now + TIMEOUT_TICKS, retries: 0 });
        network.send([{ from: client, to: "server", type: "request", id, input }]);
      }
    }
  }
  for (const [client, op] of waiting) history.push({ clientId: client, input: op.input, call: op.call, return: undefined });
  return history;
}

describe("a simulated KV over a faulty network", () => {
  it("is linearizable when the server deduplicates requests", () => {
    forEachSeed({ runs: 40 }, (seed) => {
      const history = simulate(seed, { deduplicate: true });
      expect(history.filter((op) => op.return !== undefined).length).toBeGreaterThan(50);
      const result = checkLinearizable(history);
      expect(result.ok, result.ok ? "" : result.explanation).toBe(true);
    });
  });

  it("is caught re-applying duplicated requests when it does not deduplicate", () => {
    const failing = Array.from({ length: 40 }, (_, i) => i + 1).filter((seed) => !checkLinearizable(simulate(seed, { deduplicate: false })).ok);
    expect(failing.length, `failing seeds: ${failing.join(", ")}`).toBeGreaterThan(0);
  });

  it("replays the same history from the same seed", () => {
    expect(simulate(7, { deduplicate: true })).toEqual(simulate(7, { deduplicate: true }));
  });
});
