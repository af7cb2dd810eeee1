// The proxy reads each client connection into one buffer reused from read to read (where Node
// lets it: see upstream/read-buffer.ts). Whatever it keeps past a read — an incomplete head, a
// pipelined request, body bytes queued behind a slow upstream or kept to replay on a retry — must
// be a copy, or a later read changes it. These requests are cut at awkward places (heads split
// across reads, several requests in one read), their bodies differ from position to position and
// from request to request, and the upstream reads slowly, so a reused byte shows.
import { describe, expect, it } from "vitest";
import { useHarness } from "./support/harness.ts";
import { docs, routeYaml } from "./support/mesh-yaml.ts";
import { firstDifference } from "./support/patterned-body.ts";
import { pipelinedRequests, requestBytes, responseBodies, seededBody, sendInCuts, startSlowSink, type SlowSink } from "./support/slow-sink.ts";
import type { UpstreamServer } from "./support/upstream-server.ts";
import { serviceEntryYaml } from "./support/upstream-server.ts";

const h = useHarness();

/** The sink as an endpoint of serviceEntryYaml (only its port is read). */
const endpoint = (sink: SlowSink): UpstreamServer => ({ name: "sink", port: sink.port }) as UpstreamServer;

describe("client read buffers", () => {
  it("pipelined requests cut across reads reach a slow upstream byte for byte", async () => {
    const sink = await startSlowSink();
    try {
      const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [endpoint(sink)]));
      const { bytes, bodies, answers } = pipelinedRequests("svc.test");
      const received = await sendInCuts(proxy.port, bytes, [5, 90, 1, 4000, 20_000, 333, 65_536, 7], (text) => responseBodies(text).length >= answers.length);
      expect(responseBodies(received)).toEqual(answers);
      for (const [path, body] of bodies) expect([path, firstDifference(sink.bodies.get(path) ?? Buffer.alloc(0), body)]).toEqual([path, [body.length, -1]]);
    } finally {
      await sink.close();
    }
  }, 30_000);

  it("a 6 MiB request body reaches a slow upstream byte for byte", async () => {
    const sink = await startSlowSink({ firstPauseMs: 3000 });
    try {
      const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [endpoint(sink)]));
      const body = seededBody(6 * 1024 * 1024, 9);
      const received = await sendInCuts(proxy.port, requestBytes("svc.test", "/big", body), [4096], (text) => responseBodies(text).length >= 1, 40_000);
      expect(responseBodies(received)).toEqual([`/big ${body.length}`]);
      expect(firstDifference(sink.bodies.get("/big") ?? Buffer.alloc(0), body)).toEqual([body.length, -1]);
    } finally {
      await sink.close();
    }
  }, 60_000);

  // A body up to the retry buffer (64 KiB) is kept to replay on another try: kept as it was read.
  it("a request body replayed on a retry is the one the client sent", async () => {
    const sink = await startSlowSink({ firstPauseMs: 0, resetFirst: ["/r"] });
    try {
      const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [endpoint(sink)]), routeYaml("svc.test", "retries: { attempts: 2, retryOn: reset }")));
      const body = seededBody(40_000, 5);
      // Followed by a request whose bytes land in the same reads as the body's last ones.
      const bytes = Buffer.concat([requestBytes("svc.test", "/r", body), requestBytes("svc.test", "/after", seededBody(5000, 6))]);
      const received = await sendInCuts(proxy.port, bytes, [999], (text) => responseBodies(text).length >= 2);
      expect(responseBodies(received)).toEqual([`/r ${body.length}`, "/after 5000"]);
      expect(sink.connections).toBeGreaterThanOrEqual(2);
      expect(firstDifference(sink.bodies.get("/r") ?? Buffer.alloc(0), body)).toEqual([body.length, -1]);
    } finally {
      await sink.close();
    }
  }, 30_000);
});
