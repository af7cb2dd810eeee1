// A loopback TCP port that nothing listens on at the moment of asking, for a child process that
// must be told its port up front (Raft peers, --peers lists). Prefer port 0 wherever the process
// can report the port it bound instead: another process may take a free port before it is used.
//
// The port is drawn at random BELOW the kernel's ephemeral range (ip_local_port_range, 32768–60999
// by default), not taken from listen(0): a port from that range, once closed here, can be handed
// to any other socket — a listener on port 0 or just an outgoing connection's source port —
// before the child binds it (a registry in CI failed on EADDRINUSE that way while parallel tests
// ran). Below the range only another freePort caller can pick the same port, one chance in
// thousands.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The first port of the kernel's ephemeral range (32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const lowest = 10_000;
const highest = ephemeralLow() - 1;

/** Binds `port` (0: the kernel's choice) on `host`, closes it and gives the port, or the error. */
function tryPort(port: number, host: string): Promise<number | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

/** A port on 127.0.0.1 (or `host`) that was free when asked. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const result = await tryPort(lowest + Math.floor(Math.random() * (highest - lowest + 1)), host);
    if (typeof result === "number" && result > 0) return result;
    if (typeof result !== "number" && result.code !== "EADDRINUSE" && result.code !== "EACCES") throw result;
  }
  // The low range is crowded: the kernel's choice, with the race this function otherwise avoids.
  const result = await tryPort(0, host);
  if (typeof result !== "number") throw result;
  if (result === 0) throw new Error(`freePort: no port bound on ${host}`);
  return result;
}
