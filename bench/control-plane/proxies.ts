// bench/control-plane (proxy side): N simulated proxies in one process, each on its own gRPC
// connection to the control plane (grpc.use_local_subchannel_pool: no shared HTTP/2 connection),
// one StreamConfig stream each, subscribing to every type and ACKing every response at once
// without parsing the bodies (as Istio's pilot-load does): the cost measured is the control
// plane's, not a sidecar's. Driven by scale.ts over the IPC channel; not meant to run alone.
//
// Messages in:  {type:"connect", address, proxies: NodeSpec[], batch}   → {type:"connected", ms}
//               {type:"mark"}   (start counting responses for a scenario)
//               {type:"report"} → {type:"report", affected, acks: number[] (ms since the epoch, last ACK per affected proxy), bytes, responses, lastAtMs}
//               {type:"quiet?"} → {type:"quiet", responses, lastAtMs}
//               {type:"close"}
import { credentials } from "@grpc/grpc-js";
import { DiscoveryServiceClient, type DiscoveryRequest, type DiscoveryResponse } from "@meshwork/protocol";
import { pushOrder, typeUrls } from "@meshwork/proxy-core";
import type { ClientDuplexStream } from "@grpc/grpc-js";

export interface NodeSpec {
  readonly id: string;
  readonly workload: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
}

interface Proxy {
  readonly spec: NodeSpec;
  readonly client: DiscoveryServiceClient;
  readonly stream: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  readonly typesSeen: Set<string>;
  /** Since the last mark: the time of the last ACK (0 = none), responses and body bytes. */
  lastAckMs: number;
}

const proxies: Proxy[] = [];
let responses = 0;
let bytes = 0;
let lastAtMs = 0;
let failures = 0;
const send = (message: unknown): void => void process.send?.(message);

function open(address: string, spec: NodeSpec, onFull: () => void): Proxy {
  const client = new DiscoveryServiceClient(address, credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
    "grpc.max_receive_message_length": -1,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
  });
  const stream = client.streamConfig();
  const proxy: Proxy = { spec, client, stream, typesSeen: new Set(), lastAckMs: 0 };
  let full = false;
  stream.on("data", (response: DiscoveryResponse) => {
    stream.write({ node: undefined, typeUrl: response.typeUrl, versionInfo: response.versionInfo, responseNonce: response.nonce, errorDetail: undefined });
    const now = Date.now();
    responses += 1;
    for (const r of response.resources) bytes += r.body.length + r.name.length;
    lastAtMs = now;
    proxy.lastAckMs = now;
    proxy.typesSeen.add(response.typeUrl);
    if (!full && proxy.typesSeen.size === pushOrder.length) {
      full = true;
      onFull();
    }
  });
  stream.on("error", (error: Error) => {
    failures += 1;
    process.stderr.write(`proxy ${spec.id}: stream failed: ${error.message}\n`);
  });
  const node = { id: spec.id, workload: spec.workload, namespace: spec.namespace, serviceAccount: "default", labels: spec.labels, version: "bench", kind: "sidecar" };
  pushOrder.forEach((type, i) => stream.write({ node: i === 0 ? node : undefined, typeUrl: typeUrls[type], versionInfo: "", responseNonce: "", errorDetail: undefined }));
  return proxy;
}

process.on("message", (message: { type: string; address?: string; proxies?: NodeSpec[]; batch?: number }) => {
  switch (message.type) {
    case "connect": {
      const specs = message.proxies ?? [];
      const batch = message.batch ?? 50;
      const start = Date.now();
      let next = 0;
      let done = 0;
      const openBatch = (): void => {
        const end = Math.min(next + batch, specs.length);
        let pending = end - next;
        for (; next < end; next++) {
          proxies.push(
            open(message.address ?? "", specs[next] as NodeSpec, () => {
              done += 1;
              pending -= 1;
              if (done === specs.length) send({ type: "connected", ms: Date.now() - start, responses, bytes, failures });
              else if (pending === 0) openBatch();
            }),
          );
        }
      };
      openBatch();
      break;
    }
    case "mark":
      responses = 0;
      bytes = 0;
      lastAtMs = 0;
      for (const p of proxies) p.lastAckMs = 0;
      send({ type: "marked" });
      break;
    case "quiet?":
      send({ type: "quiet", responses, lastAtMs, failures });
      break;
    case "report": {
      const acks = proxies.filter((p) => p.lastAckMs > 0).map((p) => p.lastAckMs);
      send({ type: "report", affected: acks.length, acks, bytes, responses, lastAtMs, failures });
      break;
    }
    case "close":
      for (const p of proxies) {
        p.stream.cancel();
        p.client.close();
      }
      process.exit(0);
  }
});
send({ type: "up" });
