#!/usr/bin/env node
// The floor of mutual TLS in Node for bench/proxy/mtls-ab.mjs --floor: the same two hops as
// mtls-pair.mjs (client side → server side → upstream) done by the least a Node program can do —
// each side a byte pipe per connection ('data' → write), no HTTP, no routing, no telemetry — in
// plain text or with mutual TLS between the two sides (TLS 1.3, the bench's SVIDs, client
// certificate required). Both sides are children of this process, so mtls-ab's CPU accounting
// (pid + direct children) counts both, as it does for the sidecar pair.
//   node bench/proxy/node-forwarder-pair.mjs PORT plain|mtls CERT_DIR   (MTLS_PAIR_SERVER_PORT, MTLS_PAIR_UPSTREAM_PORT as mtls-pair.mjs)
//   node bench/proxy/node-forwarder-pair.mjs --side client|server plain|mtls LISTEN TARGET CERT_DIR   (one side; what the pair starts)
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect as netConnect, createServer as netServer } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect, createServer as tlsServer } from "node:tls";

/** Copies bytes both ways and tears both down together. */
function pipeBoth(a, b) {
  a.on("data", (chunk) => b.write(chunk));
  b.on("data", (chunk) => a.write(chunk));
  for (const [x, y] of [
    [a, b],
    [b, a],
  ]) {
    x.on("error", () => y.destroy());
    x.on("close", () => y.destroy());
  }
}

function runSide(side, mode, listen, target, certDir) {
  const identity = (sa) => ({ cert: readFileSync(join(certDir, sa, "cert-chain.pem")), key: readFileSync(join(certDir, sa, "key.pem")), ca: readFileSync(join(certDir, sa, "root-cert.pem")), minVersion: "TLSv1.3" });
  const upstream = () => {
    if (side === "client" && mode === "mtls") {
      const socket = tlsConnect({ host: "127.0.0.1", port: target, servername: "server", checkServerIdentity: () => undefined, noDelay: true, ...identity("client") });
      socket.once("secureConnect", () => socket.setNoDelay(true));
      return socket;
    }
    return netConnect({ host: "127.0.0.1", port: target, noDelay: true });
  };
  const onConnection = (socket) => {
    socket.setNoDelay(true);
    pipeBoth(socket, upstream());
  };
  const server = side === "server" && mode === "mtls" ? tlsServer({ ...identity("server"), requestCert: true, rejectUnauthorized: true }, onConnection) : netServer(onConnection);
  server.listen(listen, "127.0.0.1");
}

const args = process.argv.slice(2);
if (args[0] === "--side") {
  const [, side, mode, listen, target, certDir] = args;
  runSide(side, mode, Number(listen), Number(target), certDir);
} else {
  const [port = "18000", mode = "mtls", certDir] = args;
  if (!certDir || (mode !== "mtls" && mode !== "plain")) throw new Error("usage: node-forwarder-pair.mjs PORT mtls|plain CERT_DIR");
  const serverPort = process.env.MTLS_PAIR_SERVER_PORT ?? "18001";
  const upstreamPort = process.env.MTLS_PAIR_UPSTREAM_PORT ?? "18080";
  const self = new URL(import.meta.url).pathname;
  const children = [
    spawn(process.execPath, [self, "--side", "server", mode, serverPort, upstreamPort, certDir], { stdio: "inherit" }),
    spawn(process.execPath, [self, "--side", "client", mode, port, serverPort, certDir], { stdio: "inherit" }),
  ];
  const stop = () => {
    for (const child of children) child.kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
