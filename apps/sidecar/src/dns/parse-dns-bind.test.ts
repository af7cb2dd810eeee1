import { describe, expect, it } from "vitest";
import { formatListenAddress, parseDnsBind } from "./parse-dns-bind.ts";

describe("parseDnsBind", () => {
  it("takes one address or several, IPv6 with or without brackets", () => {
    expect(parseDnsBind(["127.0.0.1"])).toEqual({ ok: true, hosts: ["127.0.0.1"] });
    expect(parseDnsBind(["127.0.0.1", " [::1]"])).toEqual({ ok: true, hosts: ["127.0.0.1", "::1"] });
  });

  it("refuses names, an empty list and an address given twice, saying what to give", () => {
    expect(parseDnsBind(["localhost"])).toEqual({ ok: false, message: expect.stringMatching(/^--dns-bind "localhost": not an IP address; .*127\.0\.0\.1,::1/) as unknown });
    expect(parseDnsBind([])).toMatchObject({ ok: false, message: expect.stringContaining("--dns-bind is empty") as unknown });
    expect(parseDnsBind(["::1", "[::1]"])).toMatchObject({ ok: false, message: expect.stringContaining("::1 is given twice") as unknown });
  });

  it("formats listen addresses with IPv6 in brackets", () => {
    expect([formatListenAddress("127.0.0.1", 15053), formatListenAddress("::1", 15053)]).toEqual(["127.0.0.1:15053", "[::1]:15053"]);
  });
});
