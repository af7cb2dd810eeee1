import { connect, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RESPONSE_FLAGS } from "../telemetry/response-flags.ts";
import type { TcpRecord } from "./tcp-record.ts";
import { startTcpListener, type TcpListener, type TcpListenerOptions } from "./tcp-listener.ts";

const records: TcpRecord[] = [];
const env = { now: () => 0, wallClockMs: () => 0, finished: (record: TcpRecord) => void records.push(record) };
let listener: TcpListener | undefined;

afterEach(async () => {
  await listener?.drain(0);
  listener = undefined;
  records.length = 0;
});

/** Connects to the listener and resolves when the listener closes the connection. */
function closedByListener(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.on("close", () => resolve());
    socket.setTimeout(5_000, () => reject(new Error("the listener did not close the connection")));
  });
}

const refuseAll: TcpListenerOptions["chooseCluster"] = () => ({ type: "refuse", flag: "NR", status: 404, routeName: "", cluster: "" });

describe("TcpListener handshake hook", () => {
  it("chooses the cluster for the socket and SNI the hook hands over, and records the SNI", async () => {
    const chosen: { sni: string | undefined; handedOver: boolean }[] = [];
    const handedOver = new WeakSet<Socket>();
    listener = await startTcpListener({
      port: 0,
      host: "127.0.0.1",
      env,
      // Stands in for a TLS socket over the accepted one: closing it closes the connection.
      handshake: (socket, proceed) => {
        const wrapper = new Socket();
        wrapper.once("close", () => socket.destroy());
        handedOver.add(wrapper);
        proceed(wrapper, "db.example.com");
      },
      chooseCluster: (socket, inspected) => {
        chosen.push({ sni: inspected.sni, handedOver: handedOver.has(socket) });
        return refuseAll(socket, inspected);
      },
    });
    await closedByListener(listener.port);
    expect(chosen).toEqual([{ sni: "db.example.com", handedOver: true }]);
    expect(records.map((r) => [r.requestedServerName, r.responseFlags])).toEqual([["db.example.com", RESPONSE_FLAGS.NR]]);
  });

  it("neither chooses nor records a connection the hook refuses", async () => {
    let chosen = 0;
    listener = await startTcpListener({
      port: 0,
      host: "127.0.0.1",
      env,
      handshake: (socket) => socket.destroy(),
      chooseCluster: (socket, inspected) => {
        chosen += 1;
        return refuseAll(socket, inspected);
      },
    });
    await closedByListener(listener.port);
    expect({ chosen, records: records.length }).toEqual({ chosen: 0, records: 0 });
  });

  it("closes connections still in the hook when it drains", async () => {
    const held: Socket[] = [];
    const started = await startTcpListener({ port: 0, host: "127.0.0.1", env, handshake: (socket) => void held.push(socket), chooseCluster: refuseAll });
    const closed = closedByListener(started.port);
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([started.drain(60_000), closed]);
    expect(held[0]?.destroyed).toBe(true);
    expect(records).toEqual([]);
  });
});
