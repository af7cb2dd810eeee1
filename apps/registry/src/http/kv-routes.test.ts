import { describe, expect, it } from "vitest";
import { kvSetCommand, maxKvValueBytes } from "./kv-routes.ts";

const q = (text: string) => new URLSearchParams(text);

describe("kvSetCommand", () => {
  it("base64-encodes the body and carries flags, cas, acquire, release", () => {
    expect(kvSetCommand("a/b", q("flags=3&cas=0"), new TextEncoder().encode("hi"))).toEqual({ op: "kv-set", key: "a/b", value: "aGk=", flags: 3, cas: 0 });
    expect(kvSetCommand("k", q("acquire=s1"), new Uint8Array())).toEqual({ op: "kv-set", key: "k", value: "", acquire: "s1" });
    expect(kvSetCommand("k", q("release=s1"), new Uint8Array())).toMatchObject({ release: "s1" });
  });
  it("refuses a missing key, conflicting flags, an empty session, a value over 512 KiB", () => {
    expect(() => kvSetCommand("", q(""), new Uint8Array())).toThrow(/Missing key name/);
    expect(() => kvSetCommand("k", q("acquire=a&release=b"), new Uint8Array())).toThrow(/Conflicting flags/);
    expect(() => kvSetCommand("k", q("acquire="), new Uint8Array())).toThrow(/\?acquire needs a session id/);
    expect(() => kvSetCommand("k", q(""), new Uint8Array(maxKvValueBytes + 1))).toThrow(expect.objectContaining({ status: 413 }));
    expect(() => kvSetCommand("k", q(""), new Uint8Array(maxKvValueBytes))).not.toThrow();
  });
});
