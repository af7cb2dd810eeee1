// A stand-in for the pod's upstream resolver (kube-dns), on UDP and TCP of one loopback port: it
// answers A queries from a fixed table, NXDOMAIN for other names, ignores the names told to stay
// silent (a dead resolver), and records every question it gets with the transport it came over.
import * as dgram from "node:dgram";
import * as net from "node:net";
import { decodeMessage, DNS_RCODE, DNS_TYPE, encodeMessage, type DnsMessage } from "@meshwork/protocol/dns-wire";

export interface FakeDnsUpstream {
  readonly port: number;
  /** Every question received: `udp example.org 1`. */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startFakeDnsUpstream(records: Readonly<Record<string, string>>, silent: readonly string[] = []): Promise<FakeDnsUpstream> {
  const seen: string[] = [];
  const answer = (packet: Uint8Array, transport: "udp" | "tcp"): Uint8Array | undefined => {
    const request = decodeMessage(packet);
    const question = request.questions[0];
    if (question === undefined) return undefined;
    const name = question.name.toLowerCase();
    seen.push(`${transport} ${name} ${question.type}`);
    if (silent.includes(name)) return undefined;
    const address = records[name];
    const response: DnsMessage = {
      id: request.id,
      flags: { ...request.flags, qr: true, ra: true, rcode: address === undefined ? DNS_RCODE.NXDOMAIN : DNS_RCODE.NOERROR },
      questions: request.questions,
      answers: address !== undefined && question.type === DNS_TYPE.A ? [{ name: question.name, type: DNS_TYPE.A, class: 1, ttl: 300, data: { kind: "a", address } }] : [],
      authorities: [],
      additionals: [],
    };
    return encodeMessage(response);
  };
  const { udp, tcp } = await bindBoth();
  const port = udp.address().port;
  udp.on("message", (packet, remote) => {
    const response = answer(new Uint8Array(packet), "udp");
    if (response !== undefined) udp.send(response, remote.port, remote.address);
  });
  const sockets = new Set<net.Socket>();
  tcp.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const packet = new Uint8Array(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + packet.length);
        const response = answer(packet, "tcp");
        if (response === undefined) continue;
        const framed = Buffer.alloc(2 + response.length);
        framed.writeUInt16BE(response.length, 0);
        framed.set(response, 2);
        socket.write(framed);
      }
    });
  });
  return {
    port,
    seen,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), new Promise<void>((resolve) => tcp.close(() => resolve()))]);
    },
  };
}

/** A UDP socket and a TCP server on the same loopback port (UDP picks it; TCP may find it taken: tried a few times). */
async function bindBoth(): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 0; attempt < 6; attempt++) {
    const udp = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
    const tcp = net.createServer();
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once("error", () => resolve(false));
      tcp.listen(udp.address().port, "127.0.0.1", () => resolve(true));
    });
    if (bound) return { udp, tcp };
    udp.close();
  }
  throw new Error("fake DNS upstream: no loopback port free for both UDP and TCP");
}
