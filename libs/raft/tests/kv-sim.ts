// A simulated KV service on the cluster simulator: servers answer client requests through the Raft
// core (writes as log entries, reads by ReadIndex), concurrent clients with timeouts and retries
// talk to them over a lossy SimNetwork of their own, and every invoke/return is recorded with its
// simulated time for the linearizability checker. One seed replays a whole run.
import { nodeId } from "../src/index.ts";
import type { NodeId, ReadState } from "../src/index.ts";
import { SimNetwork, createSeededRandom } from "@meshwork/testing";
import type { KvInput, KvOperation, KvOutput, SeededRandom } from "@meshwork/testing";
import { KvStateMachine, encodeCommand } from "./kv-state-machine.ts";
import type { KvFlaw } from "./kv-state-machine.ts";
import { SafetyChecker } from "./safety-checker.ts";
import { SimCluster } from "./sim-cluster.ts";

/** What may be broken on purpose: the machine's dedup, or reads served from local state without ReadIndex. */
export type KvSimFlaw = KvFlaw | "stale-reads";

export interface KvSimOptions {
  readonly flaw?: KvSimFlaw;
  /** Ticks of the faulty phase (default 150). */
  readonly steps?: number;
  readonly clients?: number;
  /** "lease-based" serves ReadIndex from the leader's CheckQuorum lease (thesis §6.4.1). */
  readonly readOnlyOption?: "safe" | "lease-based";
  /** Chance that a node misses a tick, so its clock runs slow (default 0.05). */
  readonly clockSkipRate?: number;
  /** Leaders send appends before persisting them (SimClusterOptions.leaderSendsFirst). */
  readonly leaderSendsFirst?: boolean;
}

/** The outcome of one run: the history and what happened in it. */
export interface KvSimResult {
  readonly history: KvOperation[];
  readonly completed: number;
  readonly pending: number;
  readonly retries: number;
}

type ClientMessage =
  | { readonly type: "request"; readonly from: string; readonly to: string; readonly seq: number; readonly input: KvInput }
  | { readonly type: "reply"; readonly from: string; readonly to: string; readonly seq: number; readonly output: KvOutput }
  | { readonly type: "redirect"; readonly from: string; readonly to: string; readonly seq: number; readonly leader: NodeId | undefined };

interface Outstanding {
  readonly seq: number;
  readonly input: KvInput;
  readonly call: number;
  deadline: number;
  attempts: number;
}

interface Client {
  readonly id: string;
  seq: number;
  leaderHint: NodeId | undefined;
  current: Outstanding | undefined;
}

/** A server's volatile request bookkeeping; lost when it crashes. */
interface ServerState {
  /** Writes proposed through this node, waiting for it to apply them: "client/seq". */
  readonly writes: Set<string>;
  /** Reads waiting for ReadIndex (index undefined) or for the apply index to reach it. */
  readonly reads: Map<string, { client: string; seq: number; key: string; index: number | undefined }>;
}

const timeoutTicks = 15;
const maxAttempts = 6;
const keys = ["x", "y"];

/** Runs one seed of the KV simulation and returns its history (pending operations included). */
export function runKvSeed(seed: number, options: KvSimOptions = {}): KvSimResult {
  const flaw = options.flaw ?? "none";
  const random: SeededRandom = createSeededRandom(seed);
  const servers = random.bool() ? ["1", "2", "3"] : ["1", "2", "3", "4", "5"];
  const clients: Client[] = Array.from({ length: options.clients ?? 5 }, (_, i) => ({ id: `c${i + 1}`, seq: 0, leaderHint: undefined, current: undefined }));
  const clientNet = new SimNetwork<ClientMessage>({ random: random.fork(), faults: { dropRate: 0.05, duplicateRate: 0.02, minDelayTicks: 0, maxDelayTicks: 2, reorder: true } });
  const serverState = new Map<string, ServerState>(servers.map((id) => [id, { writes: new Set(), reads: new Map() }]));
  const history: KvOperation[] = [];
  let subTick = 0;
  let lastTick = -1;
  let retries = 0;
  let readCounter = 0;
  const checker = new SafetyChecker();

  /** Simulated time: the tick, then the order of events within it. */
  const now = (): number => {
    const tick = cluster.network.now;
    if (tick !== lastTick) {
      lastTick = tick;
      subTick = 0;
    }
    return tick * 10_000 + subTick++;
  };

  const cluster: SimCluster = new SimCluster({
    random: random.fork(),
    voters: servers,
    raft: { electionTick: 10, heartbeatTick: 2, maxInflightMsgs: 8, readOnlyOption: options.readOnlyOption ?? "safe" },
    faults: { dropRate: random.int(0, 5) / 100, duplicateRate: random.int(0, 3) / 100, minDelayTicks: 0, maxDelayTicks: random.int(0, 2), reorder: random.bool() },
    createStateMachine: (id) =>
      new KvStateMachine(flaw === "no-dedup" ? "no-dedup" : "none", {
        applied: (client, seq, output) => {
          const state = serverState.get(id);
          const key = `${client}/${seq}`;
          if (state?.writes.delete(key) === true) clientNet.send([{ type: "reply", from: id, to: client, seq, output }]);
        },
        released: (states: readonly ReadState[]) => {
          const reads = serverState.get(id)?.reads;
          for (const s of states) {
            const read = reads?.get(s.context);
            if (read !== undefined) read.index = s.index;
          }
        },
      }),
    onReady: (member, ready, before) => checker.observe(member, ready, before),
    leaderSendsFirst: options.leaderSendsFirst === true,
  });

  const machineOf = (id: string): KvStateMachine => cluster.member(id).machine as KvStateMachine;

  /** Answers reads whose read point this server has applied. */
  const serveReads = (id: string): void => {
    const member = cluster.member(id);
    const state = serverState.get(id);
    if (state === undefined || member.crashed) return;
    for (const [context, read] of state.reads) {
      if (read.index === undefined || member.appliedIndex < read.index) continue;
      state.reads.delete(context);
      clientNet.send([{ type: "reply", from: id, to: read.client, seq: read.seq, output: { value: machineOf(id).read(read.key) } }]);
    }
  };

  const handleRequest = (message: Extract<ClientMessage, { type: "request" }>): void => {
    const id = message.to;
    const member = cluster.member(id);
    const state = serverState.get(id);
    if (member.crashed || state === undefined) return;
    const redirect = (): void => clientNet.send([{ type: "redirect", from: id, to: message.from, seq: message.seq, leader: member.node.status().lead ?? undefined }]);
    if (message.input.op === "get") {
      if (flaw === "stale-reads") {
        clientNet.send([{ type: "reply", from: id, to: message.from, seq: message.seq, output: { value: machineOf(id).read(message.input.key) } }]);
        return;
      }
      const context = `${id}/${message.from}/${message.seq}/${readCounter++}`;
      if (!member.node.readIndex(context).ok) return redirect();
      state.reads.set(context, { client: message.from, seq: message.seq, key: message.input.key, index: undefined });
      return;
    }
    const result = member.node.propose(encodeCommand({ client: message.from, seq: message.seq, input: message.input }));
    if (!result.ok) return redirect();
    state.writes.add(`${message.from}/${message.seq}`);
  };

  const send = (client: Client, to: NodeId | undefined): void => {
    const op = client.current;
    if (op === undefined) return;
    const target = to ?? nodeId(random.pick(servers));
    clientNet.send([{ type: "request", from: client.id, to: target, seq: op.seq, input: op.input }]);
  };

  const handleClientMessage = (message: ClientMessage): void => {
    if (message.type === "request") return handleRequest(message);
    const client = clients.find((c) => c.id === message.to);
    const op = client?.current;
    if (client === undefined || op === undefined || op.seq !== message.seq) return;
    if (message.type === "redirect") {
      // Try the leader the server named, else another server; the timeout still bounds the attempt.
      client.leaderHint = message.leader !== undefined && message.leader !== message.from ? message.leader : undefined;
      send(client, client.leaderHint);
      return;
    }
    client.leaderHint = nodeId(message.from);
    history.push({ clientId: client.id, input: op.input, call: op.call, return: now(), output: message.output });
    client.current = undefined;
  };

  const startOperation = (client: Client): void => {
    client.seq += 1;
    const key = random.pick(keys);
    const value = `${client.id}.${client.seq}`;
    const r = random.next();
    const input: KvInput =
      r < 0.4
        ? { op: "get", key }
        : r < 0.7
          ? { op: "put", key, value }
          : r < 0.9
            ? { op: "cas", key, expected: lastValue(history, key), value }
            : { op: "delete", key };
    client.current = { seq: client.seq, input, call: now(), deadline: cluster.network.now + timeoutTicks, attempts: 1 };
    send(client, client.leaderHint);
  };

  /** Clients whose request timed out retry it (same seq) elsewhere, or give up and leave it pending. */
  const checkTimeouts = (): void => {
    for (const client of clients) {
      const op = client.current;
      if (op === undefined || cluster.network.now < op.deadline) continue;
      if (op.attempts >= maxAttempts) {
        history.push({ clientId: client.id, input: op.input, call: op.call, return: undefined });
        client.current = undefined;
        continue;
      }
      op.attempts += 1;
      op.deadline = cluster.network.now + timeoutTicks;
      retries += 1;
      client.leaderHint = undefined;
      send(client, undefined);
    }
  };

  const tick = (acceptNew: boolean): void => {
    cluster.advanceClock(options.clockSkipRate ?? 0.05);
    for (const message of clientNet.deliverable(cluster.network.now)) handleClientMessage(message);
    checkTimeouts();
    if (acceptNew) for (const client of clients) if (client.current === undefined && random.bool(0.3)) startOperation(client);
  };

  const steps = options.steps ?? 150;
  for (let step = 0; step < steps; step++) {
    // One tick of time, then each live server gets a turn of its driver loop with some chance
    // (so servers run at uneven speeds), then maybe a fault.
    tick(true);
    for (const id of servers) {
      if (!random.bool(0.7)) continue;
      cluster.processReady(id);
      serveReads(id);
      cluster.deliverDue();
    }
    const r = random.next();
    if (r < 0.025) {
      cluster.network.heal();
      if (random.bool(0.7)) cluster.network.partition([servers.filter(() => random.bool(0.4)).map(nodeId)]);
    } else if (r < 0.065) {
      const live = cluster.live();
      if (live.length > Math.floor(servers.length / 2) + 1) {
        const id = random.pick(live);
        cluster.crash(id);
        clientNet.crash(id);
        serverState.set(id, { writes: new Set(), reads: new Map() });
      }
    } else if (r < 0.1) {
      const down = cluster.ids.filter((id) => cluster.member(id).crashed);
      if (down.length > 0) {
        const id = random.pick(down);
        cluster.restart(id);
        clientNet.restart(id);
      }
    } else if (r < 0.12) {
      cluster.compact(random.pick(servers), random.int(0, 3));
    } else if (r < 0.13) {
      const leader = cluster.leader();
      if (leader !== null) cluster.member(leader).node.transferLeader(nodeId(random.pick(servers)));
    } else if (r < 0.14) {
      cluster.network.cut(nodeId(random.pick(servers)), nodeId(random.pick(servers)));
    }
  }

  // Calm: faults stop, crashed servers return; clients finish or give up what they started.
  cluster.network.heal();
  for (const id of cluster.ids) {
    if (!cluster.member(id).crashed) continue;
    cluster.restart(id);
    clientNet.restart(id);
  }
  for (let round = 0; round < timeoutTicks * (maxAttempts + 1) && clients.some((c) => c.current !== undefined); round++) {
    tick(false);
    for (let k = 0; k < 3; k++) for (const id of servers) {
      cluster.processReady(id);
      serveReads(id);
      cluster.deliverDue();
    }
  }
  for (const client of clients) {
    if (client.current !== undefined) history.push({ clientId: client.id, input: client.current.input, call: client.current.call, return: undefined });
  }
  checker.checkLogMatching(cluster);
  return { history, completed: history.filter((op) => op.return !== undefined).length, pending: history.filter((op) => op.return === undefined).length, retries };
}

/** The latest value a completed operation wrote to or read from `key`, as a plausible CAS expectation. */
function lastValue(history: readonly KvOperation[], key: string): string | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const op = history[i];
    if (op === undefined || op.input.key !== key || op.return === undefined) continue;
    if (op.input.op === "get") return op.output?.value ?? null;
    if (op.input.op === "put" || op.input.op === "cas") return op.input.value;
    if (op.input.op === "delete") return null;
  }
  return null;
}
