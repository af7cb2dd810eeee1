// One exchange over a fresh TCP connection, for the raw-TCP listener tests: what an echo-style
// upstream sent back before the connection closed.
import { connect } from "node:net";

/** Sends `text` on a fresh connection to `host:port` (from `localAddress`); resolves with what came back before the close (or after 1.5 s). */
export function tcpRoundTrip(host: string, port: number, text: string, localAddress?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host, ...(localAddress !== undefined ? { localAddress } : {}) });
    let received = "";
    const timer = setTimeout(() => socket.end(), 1500);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
      if (received.length >= text.length + 5) {
        clearTimeout(timer);
        socket.end();
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(text);
  });
}
