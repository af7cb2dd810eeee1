import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Keyring } from "./keyring.ts";
import { KEY_QUERY_NAMES, answerKeyQuery, decodeKey, decodeNodeKeyResponse, encodeKey, encodeKeyRequest, encodeNodeKeyResponse, keyOperationOf, tallyKeyResponses } from "./key-queries.ts";

const k1 = new Uint8Array(randomBytes(32));
const k2 = new Uint8Array(randomBytes(16));
const b64 = (key: Uint8Array) => Buffer.from(key).toString("base64");

describe("key queries (serf internal_query.go)", () => {
  it("uses serf's query names and recognises only them", () => {
    expect(KEY_QUERY_NAMES).toEqual({ install: "_serf_install-key", use: "_serf_use-key", remove: "_serf_remove-key", list: "_serf_list-keys" });
    expect(keyOperationOf("_serf_use-key")).toBe("use");
    expect(keyOperationOf("_serf_ping")).toBeUndefined();
    expect(keyOperationOf("deploy")).toBeUndefined();
  });

  it("encodes keys as standard base64, as Consul prints them", () => {
    expect(encodeKey(k1)).toBe(b64(k1));
    expect(decodeKey(b64(k2))).toEqual(k2);
    expect(decodeKey("not base64!")).toBeUndefined();
  });

  it("install adds, use makes primary, remove drops a secondary; each reports whether the keyring changed", () => {
    const ring = new Keyring([k1]);
    expect(answerKeyQuery(ring, "install", encodeKeyRequest(k2))).toEqual({ response: expect.objectContaining({ result: true }), changed: true });
    expect(answerKeyQuery(ring, "install", encodeKeyRequest(k2)).changed).toBe(false);
    expect(ring.keys.map(b64)).toEqual([b64(k1), b64(k2)]);
    expect(answerKeyQuery(ring, "use", encodeKeyRequest(k2))).toEqual({ response: expect.objectContaining({ result: true }), changed: true });
    expect(b64(ring.primaryKey)).toBe(b64(k2));
    expect(answerKeyQuery(ring, "remove", encodeKeyRequest(k1))).toEqual({ response: expect.objectContaining({ result: true }), changed: true });
    expect(ring.keys.map(b64)).toEqual([b64(k2)]);
    const list = answerKeyQuery(ring, "list", encodeKeyRequest(undefined)).response;
    expect(list).toEqual({ result: true, message: "", keys: [b64(k2)], primaryKey: b64(k2) });
  });

  it("refuses to use a key that is not installed and to remove the primary, saying what to do", () => {
    const ring = new Keyring([k1]);
    const use = answerKeyQuery(ring, "use", encodeKeyRequest(k2));
    expect(use.response.result).toBe(false);
    expect(use.response.message).toMatch(/not installed: install it first/);
    const remove = answerKeyQuery(ring, "remove", encodeKeyRequest(k1));
    expect(remove.response.result).toBe(false);
    expect(remove.response.message).toMatch(/primary key is not allowed: make another key primary first/);
    expect(ring.keys.map(b64)).toEqual([b64(k1)]);
    // As memberlist: removing a key that is not there is not an error (a retried step is harmless).
    expect(answerKeyQuery(ring, "remove", encodeKeyRequest(k2))).toEqual({ response: expect.objectContaining({ result: true }), changed: false });
  });

  it("fails without a keyring, on a bad key, or on a malformed request", () => {
    expect(answerKeyQuery(undefined, "list", new Uint8Array()).response.message).toMatch(/encryption is not enabled/);
    const ring = new Keyring([k1]);
    expect(answerKeyQuery(ring, "install", encodeKeyRequest(Uint8Array.of(1, 2, 3))).response.message).toMatch(/16, 24 or 32 bytes/);
    expect(answerKeyQuery(ring, "install", new TextEncoder().encode("{")).response.message).toMatch(/malformed/);
    expect(answerKeyQuery(ring, "install", new TextEncoder().encode('{"Key":"%%%"}')).response.message).toMatch(/not base64/);
  });

  it("tallies answers per key and primary key, failures and silent members as errors", () => {
    const ok = (keys: string[]) => encodeNodeKeyResponse({ result: true, message: "", keys, primaryKey: keys[0] ?? "" });
    const result = tallyKeyResponses(
      [
        { from: "a", payload: ok(["K2", "K1"]) },
        { from: "b", payload: ok(["K1"]) },
        { from: "c", payload: encodeNodeKeyResponse({ result: false, message: "boom", keys: [], primaryKey: "" }) },
      ],
      ["a", "b", "c", "d"],
    );
    expect(result.numNodes).toBe(4);
    expect(result.numResp).toBe(3);
    expect(result.numErr).toBe(2);
    expect(result.keys).toEqual({ K1: 2, K2: 1 });
    expect(result.primaryKeys).toEqual({ K2: 1, K1: 1 });
    expect(result.messages.c).toBe("boom");
    expect(result.messages.d).toMatch(/no answer before the query timeout/);
    expect(decodeNodeKeyResponse(new TextEncoder().encode("nope")).result).toBe(false);
  });
});
