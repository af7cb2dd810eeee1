// AES-GCM for the gossip keyring, over node:crypto: the pure core (@meshwork/gossip) takes this
// as its injected `Cipher`. Sealed layout: nonce(12) ‖ ciphertext ‖ tag(16).
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Structurally the `Cipher` of @meshwork/gossip. */
export interface GossipCipher {
  seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
}

function algorithm(key: Uint8Array): "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm" {
  if (key.length === 16) return "aes-128-gcm";
  if (key.length === 24) return "aes-192-gcm";
  if (key.length === 32) return "aes-256-gcm";
  throw new Error(`gossip encryption: a key is 16, 24 or 32 bytes, got ${key.length}; generate one with \`openssl rand -base64 32\``);
}

/** AES-GCM with a fresh random 96-bit nonce per packet. */
export const aesGcmCipher: GossipCipher = {
  seal(key, plaintext, aad) {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(algorithm(key), key, nonce);
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return new Uint8Array(Buffer.concat([nonce, body, cipher.getAuthTag()]));
  },
  open(key, sealed, aad) {
    if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv(algorithm(key), key, sealed.subarray(0, NONCE_BYTES));
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]));
    } catch {
      return undefined; // authentication failed: the core counts and drops it
    }
  },
};
