// Entry `@meshwork/testing/processes`: real child processes for process-level tests (spawn, JSON
// log lines, waits with the output in the error, teardown), free ports and polling, certificates
// made by the openssl CLI and an HTTPS client. Kept apart
// from the main entry, which stays free of child processes and sockets.
export { eventually } from "./eventually.ts";
export type { EventuallyOptions } from "./eventually.ts";
export { freePort } from "./free-port.ts";
export { httpsGet } from "./https-get.ts";
export type { HttpsAnswer } from "./https-get.ts";
export { issueWithOpenssl, readIssued } from "./issue-with-openssl.ts";
export type { IssuedFiles } from "./issue-with-openssl.ts";
export { ProcessGroup } from "./process-group.ts";
export { childEnv, startProcess } from "./start-process.ts";
export type { LineMatch, LogLine, StartedProcess, StartProcessOptions } from "./start-process.ts";
export { denoBinary, startSourceProcess } from "./start-source-process.ts";
export type { StartSourceProcessOptions } from "./start-source-process.ts";
