// Public entry of @meshwork/testing, the shared test kit: data-driven test files and goldens, seeded
// randomness, a fake clock, a simulated network, in-memory channels and a linearizability checker.

// Data-driven tests and goldens.
export { hasArg, intArg, intListArg, listArg, stringArg } from "./case-args.ts";
export { expectGolden } from "./expect-golden.ts";
export { listTestdataFiles } from "./list-testdata-files.ts";
export { formatDataDriven, normalizeOutput, parseDataDriven } from "./parse-data-driven.ts";
export type { DataDrivenCase, DataDrivenChunk } from "./parse-data-driven.ts";
export { parseDirective } from "./parse-directive.ts";
export type { Directive } from "./parse-directive.ts";
export { isUpdatingTestdata, runDataDriven, runDataDrivenAsync } from "./run-data-driven.ts";
export type { AsyncDataDrivenHandler, DataDrivenHandler } from "./run-data-driven.ts";

// Seeds, randomness and time.
export { createSeededRandom } from "./create-seeded-random.ts";
export type { SeededRandom } from "./create-seeded-random.ts";
export { forEachSeed, forEachSeedAsync, seedsToRun, withSeed } from "./for-each-seed.ts";
export type { SeedRunOptions } from "./for-each-seed.ts";
export { FakeClock } from "./fake-clock.ts";
export type { FakeTimerHandle } from "./fake-clock.ts";
// Polling real time (sockets, processes); child processes themselves are in `@meshwork/testing/processes`.
export { eventually } from "./eventually.ts";
export type { EventuallyOptions } from "./eventually.ts";

// Simulated network and in-memory channels.
export { NO_FAULTS, SimNetwork } from "./sim-network.ts";
export type { Envelope, LinkFaults, NodeOf, SimNetworkOptions, SimNetworkStats } from "./sim-network.ts";
export { ChannelClosedError, createChannelPair } from "./create-channel-pair.ts";
export type { ChannelEnd, ChannelPairOptions } from "./create-channel-pair.ts";

// Linearizability checking.
export { assertLinearizable, checkLinearizable } from "./check-linearizable.ts";
export type { CheckOptions, LinearizabilityFailure, LinearizabilityResult } from "./check-linearizable.ts";
export { describeHistory, describeOperation } from "./describe-history.ts";
export type { DescribeHistoryOptions } from "./describe-history.ts";
export { applyKvInput, kvModel } from "./kv-model.ts";
export type { KvInput, KvOperation, KvOutput, KvState } from "./kv-model.ts";
export type { HistoryPart, Model, Operation } from "./lin-model.ts";
