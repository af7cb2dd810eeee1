// A free TCP port on 127.0.0.1 for a benchmark's servers (the kernel picks one; it is released at once).
import net from "node:net";

/** A port nothing listens on right now; rejects if no listening socket can be opened. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
