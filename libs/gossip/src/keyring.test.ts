import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { aesGcm } from "../tests/aes-gcm.ts";
import { Keyring, openPacket, sealPacket } from "./keyring.ts";

const aad = Uint8Array.of(1, 2);
const plaintext = Uint8Array.of(9, 8, 7);

describe("Keyring", () => {
  it("rotation: install, use, remove; old packets open until the old key is removed", () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(16);
    const ring = new Keyring([k1]);
    const old = sealPacket(ring, aesGcm, plaintext, aad);
    expect(ring.install(k2)).toEqual({ ok: true });
    expect(ring.use(k2)).toEqual({ ok: true });
    const fresh = sealPacket(ring, aesGcm, plaintext, aad);
    expect(openPacket(new Keyring([k2]), aesGcm, fresh, aad).ok).toBe(true);
    expect(openPacket(ring, aesGcm, old, aad).ok).toBe(true);
    expect(ring.remove(k1)).toEqual({ ok: true });
    expect(openPacket(ring, aesGcm, old, aad)).toEqual({ ok: false, reason: "unauthenticated" });
  });

  it("refuses bad keys, removing the primary key and using an unknown key, with the fix", () => {
    expect(() => new Keyring([new Uint8Array(10)])).toThrow(/16, 24 or 32 bytes/);
    const k = randomBytes(32);
    const ring = new Keyring([k]);
    expect(ring.remove(k)).toMatchObject({ ok: false, reason: expect.stringMatching(/use` another key first/) });
    expect(ring.use(randomBytes(32))).toMatchObject({ ok: false, reason: expect.stringMatching(/install the key/) });
    expect(ring.install(new Uint8Array(3)).ok).toBe(false);
  });

  it("a tampered byte, a different label or a truncated packet fails authentication", () => {
    const ring = new Keyring([randomBytes(32)]);
    const sealed = sealPacket(ring, aesGcm, plaintext, aad);
    const tampered = sealed.slice();
    tampered[20] = (tampered[20] as number) ^ 1;
    expect(openPacket(ring, aesGcm, tampered, aad)).toEqual({ ok: false, reason: "unauthenticated" });
    expect(openPacket(ring, aesGcm, sealed, Uint8Array.of(3))).toEqual({ ok: false, reason: "unauthenticated" });
    expect(openPacket(ring, aesGcm, sealed.subarray(0, 10), aad)).toEqual({ ok: false, reason: "truncated" });
  });
});
