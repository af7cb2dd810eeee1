// Entry `@meshwork/testing/processes`: real child processes for process-level tests (spawn, JSON
// log lines, waits with the output in the error, teardown), free ports and polling. Kept apart
// from the main entry, which stays free of child processes and sockets.
export { eventually } from "./eventually.ts";
export type { EventuallyOptions } from "./eventually.ts";
export { freePort } from "./free-port.ts";
export { ProcessGroup } from "./process-group.ts";
export { childEnv, startProcess } from "./start-process.ts";
export type { LineMatch, LogLine, StartedProcess, StartProcessOptions } from "./start-process.ts";
export { denoBinary, startSourceProcess } from "./start-source-process.ts";
export type { StartSourceProcessOptions } from "./start-source-process.ts";
