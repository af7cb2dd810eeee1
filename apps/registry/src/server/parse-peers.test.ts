import { describe, expect, it } from "vitest";
import { parsePeers } from "./parse-peers.ts";

describe("parsePeers", () => {
  it("reads id=host:port entries", () => {
    const result = parsePeers(["n1=10.0.0.1:8300", " n2 = [::1]:8301 ", ""]);
    expect(result.ok && [...result.peers]).toEqual([
      ["n1", "10.0.0.1:8300"],
      ["n2", "[::1]:8301"],
    ]);
  });

  it("names the bad entry and the expected form", () => {
    expect(parsePeers(["n1"])).toEqual({ ok: false, message: 'invalid --peers entry "n1": expected ID=HOST:PORT, e.g. n1=10.0.0.1:8300' });
    expect(parsePeers(["n1=host"]).ok).toBe(false);
    expect(parsePeers(["n1=host:99999"]).ok).toBe(false);
    expect(parsePeers(["n1=a:1", "n1=b:2"])).toEqual({ ok: false, message: "--peers names n1 twice: give each member once" });
  });
});
