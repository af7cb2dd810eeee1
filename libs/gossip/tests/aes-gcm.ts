// AES-GCM over node:crypto for the lib's tests (the registry's adapter has its own): the pure core
// takes a Cipher as input and never imports node:crypto itself.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Cipher } from "../src/index.ts";

function algorithm(key: Uint8Array): "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm" {
  return key.length === 16 ? "aes-128-gcm" : key.length === 24 ? "aes-192-gcm" : "aes-256-gcm";
}

export const aesGcm: Cipher = {
  seal(key, plaintext, aad) {
    const nonce = randomBytes(12);
    const cipher = createCipheriv(algorithm(key), key, nonce);
    cipher.setAAD(aad);
    return new Uint8Array(Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
  },
  open(key, sealed, aad) {
    try {
      const decipher = createDecipheriv(algorithm(key), key, sealed.subarray(0, 12));
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]));
    } catch {
      return undefined;
    }
  },
};
