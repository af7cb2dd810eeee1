// bench/ca (gRPC floor): what one unary call over TLS costs the server when the handler does
// nothing — a grpc-js Server (channelz off) and a bare node:http2 server (as the CA now serves) speaking
// the same gRPC framing — with 64 node:http2 client sessions, 5 s each; server and client CPU per call.
// The CA's issuance costs come on top of this floor. A figure, not a test.
// Usage: node bench/ca/grpc-floor.mjs grpc-js && node bench/ca/grpc-floor.mjs http2
import { execFileSync, fork } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import http2 from "node:http2";
const require = createRequire(new URL("../../package.json", import.meta.url));
const certDir = join(tmpdir(), "meshwork-bench-grpc-floor");
if (!existsSync(join(certDir, "cert.pem"))) {
  mkdirSync(certDir, { recursive: true });
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(certDir, "key.pem"), "-out", join(certDir, "cert.pem"), "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], { stdio: "ignore" });
}
const key = readFileSync(join(certDir, "key.pem")), cert = readFileSync(join(certDir, "cert.pem"));
const path = "/mesh.ca.v1.CertificateService/CreateCertificate";
const chainPem = "x".repeat(2200);
// response protobuf: repeated string cert_chain = 1 → 3 fields of ~733
function respFrame() { const parts = []; for (let i = 0; i < 3; i++) { const s = Buffer.from(chainPem.slice(0, 733)); parts.push(Buffer.from([10, 0xdd, 0x05]), s); } const body = Buffer.concat(parts); const f = Buffer.alloc(5); f.writeUInt32BE(body.length, 1); return Buffer.concat([f, body]); }
if (process.argv[2] === "server") {
  const kind = process.argv[3];
  let port;
  if (kind === "grpc-js") {
    const grpc = require("@grpc/grpc-js");
    const server = new grpc.Server({ "grpc.enable_channelz": 0 });
    const resp = respFrame().subarray(5);
    server.addService({ createCertificate: { path, requestStream: false, responseStream: false, requestSerialize: (x) => x, requestDeserialize: (b) => b, responseSerialize: (x) => x, responseDeserialize: (b) => b } }, { createCertificate: (call, cb) => cb(null, resp) });
    port = await new Promise((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createSsl(null, [{ private_key: key, cert_chain: cert }], false), (e, p) => (e ? rej(e) : res(p))));
  } else {
    const frame = respFrame();
    const server = http2.createSecureServer({ key, cert });
    server.on("stream", (stream) => {
      const chunks = []; stream.on("data", (c) => chunks.push(c));
      stream.on("end", () => { stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true }); stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" })); stream.end(frame); });
    });
    port = await new Promise((res) => server.listen(0, "127.0.0.1", () => res(server.address().port)));
  }
  process.send({ port });
  process.on("message", () => { const c = process.cpuUsage(); process.send({ cpu: (c.user + c.system) / 1000 }); });
} else {
  const kind = process.argv[2] === "http2" ? "http2" : "grpc-js";
  const child = fork(new URL(import.meta.url).pathname, ["server", kind]);
  const { port } = await new Promise((r) => child.once("message", r));
  const cpu = () => new Promise((r) => { child.once("message", (m) => r(m.cpu)); child.send("cpu"); });
  const reqBody = Buffer.alloc(5 + 1100, 1); reqBody[0] = 0; reqBody.writeUInt32BE(1100, 1);
  const sessions = Array.from({ length: 64 }, () => http2.connect(`https://localhost:${port}`, { ca: cert }));
  const one = (s) => new Promise((res, rej) => { const st = s.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" }); let ok = false; st.on("trailers", (t) => (ok = t["grpc-status"] === "0")); st.resume(); st.on("end", () => (ok ? res() : rej(new Error("bad")))); st.on("error", rej); st.end(reqBody); });
  await Promise.all(sessions.map(one));
  const c0 = await cpu(); const cc0 = process.cpuUsage(); const t0 = performance.now(); let n = 0;
  await Promise.all(sessions.map(async (s) => { while (performance.now() - t0 < 5000) { await one(s); n++; } }));
  const el = (performance.now() - t0) / 1000; const c1 = await cpu(); const cc = process.cpuUsage(cc0);
  console.log(`${kind}: ${Math.round(n / el)} calls/s, server CPU ${((c1 - c0) / n).toFixed(3)} ms/call, client CPU ${((cc.user + cc.system) / 1000 / n).toFixed(3)} ms/call`);
  for (const s of sessions) s.close(); child.kill();
}
