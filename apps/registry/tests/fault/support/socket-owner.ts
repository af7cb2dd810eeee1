// Which process holds the other end of an accepted loopback TCP connection, read from Linux's
// /proc: the relay uses it to tell which registry node a peer connection comes from (every node
// dials from 127.0.0.1 with an ephemeral port, so the address alone does not say).
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

/** `127.0.0.1` + port as /proc/net/tcp writes it: `0100007F:1F90` (address little-endian hex). */
function procAddress(ip: string, port: number): string {
  const octets = ip.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o))) return "";
  const hex = octets
    .reverse()
    .map((o) => o.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
  return `${hex}:${port.toString(16).padStart(4, "0").toUpperCase()}`;
}

/** The socket inode of the connection whose local end is `local` and remote end `remote`, if listed. */
function socketInode(local: string, remote: string): string | undefined {
  const table = readFileSync("/proc/net/tcp", "utf8").split("\n");
  for (const line of table) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[2] === remote) return fields[9];
  }
  return undefined;
}

/**
 * The pid among `pids` that holds the socket connected from `remoteIp:remotePort` (the dialer's
 * end) to `localIp:localPort` (the relay's end), or undefined when none of them does.
 */
export function socketOwner(pids: readonly number[], remoteIp: string, remotePort: number, localIp: string, localPort: number): number | undefined {
  const inode = socketInode(procAddress(remoteIp, remotePort), procAddress(localIp, localPort));
  if (inode === undefined || inode === "0") return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}
