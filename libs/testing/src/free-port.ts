// A loopback TCP port that nothing listens on at the moment of asking, for a child process that
// must be told its port up front (Raft peers, --peers lists). Prefer port 0 wherever the process
// can report the port it bound instead: another process may take a free port before it is used.
import { createServer } from "node:net";

/** A port on 127.0.0.1 (or `host`) that was free when asked. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`freePort: no port bound on ${host}`))));
    });
  });
}
