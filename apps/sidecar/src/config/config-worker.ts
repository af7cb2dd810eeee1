// Entry of the short-lived child process that reads a config directory (load-config-in-worker.ts):
// reads and validates the resources (readConfigResources) and sends the plain result back over
// the IPC channel (structured clone). The schemas, the YAML parsers and every string of the YAML
// text live in this process only and go away with it.
import type { ConfigWorkerRequest } from "./load-config-in-worker.ts";
import { readConfigResources } from "./read-config-resources.ts";

const request = JSON.parse(process.argv[2] ?? "") as ConfigWorkerRequest;
const result = await readConfigResources(request.dir, request.version);
// The sidecar may have stopped while this read ran (its channel is closed): nobody to answer then,
// and nothing to disconnect (disconnecting a closed channel throws).
process.send?.(result, undefined, {}, () => {
  if (process.connected) process.disconnect();
});
