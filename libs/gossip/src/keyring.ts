// The gossip keyring (serf's keyring: install / use / remove for rotation) and the encrypted
// envelope around packets. The AEAD itself is injected: the pure lib never touches node:crypto.

/**
 * Authenticated encryption the driver supplies (AES-GCM in the registry, via node:crypto).
 * `seal` returns nonce(12) ‖ ciphertext ‖ tag(16) and must draw a fresh random nonce per call;
 * `open` returns the plaintext, or `undefined` when authentication fails.
 */
export interface Cipher {
  seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
}

/** Bytes `seal` adds: a 12-byte nonce and a 16-byte GCM tag. */
export const SEAL_OVERHEAD = 28;
/** First byte of an encrypted packet (memberlist's encryption version byte). */
export const ENCRYPTED_PACKET_VERSION = 0x80;
export const NONCE_BYTES = 12;

export type KeyringOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function checkKey(key: Uint8Array): KeyringOutcome {
  return key.length === 16 || key.length === 24 || key.length === 32
    ? { ok: true }
    : { ok: false, reason: `keyring: a key is 16, 24 or 32 bytes (AES-128/192/256), got ${key.length}; generate one with \`openssl rand -base64 32\`` };
}

/**
 * The keys a node accepts. It encrypts with the primary key and tries every installed key when
 * decrypting, so a rotation is: install the new key everywhere, use it everywhere, remove the old.
 */
export class Keyring {
  #keys: Uint8Array[] = [];

  /** `keys[0]` becomes the primary key. Throws on a key of the wrong length (configuration error). */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new Error("keyring: give at least one key, or no keyring to disable encryption");
    for (const key of keys) {
      const checked = checkKey(key);
      if (!checked.ok) throw new Error(checked.reason);
      if (!this.#keys.some((k) => sameKey(k, key))) this.#keys.push(key.slice());
    }
  }

  /** The encryption key. */
  get primaryKey(): Uint8Array {
    return this.#keys[0] as Uint8Array;
  }

  /** All keys, primary first. */
  get keys(): readonly Uint8Array[] {
    return this.#keys;
  }

  /** Adds a key that is accepted for decryption (no-op if present). */
  install(key: Uint8Array): KeyringOutcome {
    const checked = checkKey(key);
    if (!checked.ok) return checked;
    if (!this.#keys.some((k) => sameKey(k, key))) this.#keys.push(key.slice());
    return { ok: true };
  }

  /** Makes an installed key the primary (encryption) key. */
  use(key: Uint8Array): KeyringOutcome {
    const index = this.#keys.findIndex((k) => sameKey(k, key));
    if (index < 0) return { ok: false, reason: "keyring: install the key before using it" };
    const [chosen] = this.#keys.splice(index, 1);
    this.#keys.unshift(chosen as Uint8Array);
    return { ok: true };
  }

  /** Removes a key; the primary key cannot be removed (use another first). */
  remove(key: Uint8Array): KeyringOutcome {
    const index = this.#keys.findIndex((k) => sameKey(k, key));
    if (index < 0) return { ok: false, reason: "keyring: no such key installed" };
    if (index === 0) return { ok: false, reason: "keyring: the primary key cannot be removed; `use` another key first" };
    this.#keys.splice(index, 1);
    return { ok: true };
  }
}

/** Encrypts a plaintext packet with the primary key: version byte ‖ nonce ‖ ciphertext ‖ tag. */
export function sealPacket(keyring: Keyring, cipher: Cipher, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const sealed = cipher.seal(keyring.primaryKey, plaintext, aad);
  const out = new Uint8Array(sealed.length + 1);
  out[0] = ENCRYPTED_PACKET_VERSION;
  out.set(sealed, 1);
  return out;
}

export type OpenResult =
  | { readonly ok: true; readonly plaintext: Uint8Array; readonly nonceKey: string }
  | { readonly ok: false; readonly reason: "unauthenticated" | "truncated" };

/** Decrypts with any installed key; `nonceKey` identifies the packet for replay detection. */
export function openPacket(keyring: Keyring, cipher: Cipher, bytes: Uint8Array, aad: Uint8Array): OpenResult {
  if (bytes.length < 1 + SEAL_OVERHEAD) return { ok: false, reason: "truncated" };
  if (bytes[0] !== ENCRYPTED_PACKET_VERSION) return { ok: false, reason: "unauthenticated" };
  const sealed = bytes.subarray(1);
  for (const key of keyring.keys) {
    const plaintext = cipher.open(key, sealed, aad);
    if (plaintext !== undefined) {
      let nonceKey = "";
      for (let i = 0; i < NONCE_BYTES; i++) nonceKey += String.fromCharCode(sealed[i] as number);
      return { ok: true, plaintext, nonceKey };
    }
  }
  return { ok: false, reason: "unauthenticated" };
}
