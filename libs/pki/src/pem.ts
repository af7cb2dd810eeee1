// PEM (RFC 7468) ↔ DER: what node:tls (`tls.createSecureContext({ cert, key, ca })`) and grpc-js
// (`credentials.createSsl(rootCerts, privateKey, certChain)`) take, and what files and the CA API carry.
import { reject, type Rejection } from "./reasons.ts";

/** One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, `CERTIFICATE REQUEST`) and DER bytes. */
export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array<ArrayBuffer>;
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const alphabetIndex = new Map([...alphabet].map((c, i) => [c, i] as const));

/** Standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += alphabet[(n >> 18) & 63] as string;
    out += alphabet[(n >> 12) & 63] as string;
    out += b === undefined ? "=" : (alphabet[(n >> 6) & 63] as string);
    out += c === undefined ? "=" : (alphabet[n & 63] as string);
  }
  return out;
}

/** Strict standard base64 (whitespace ignored, padding required): `null` when not base64. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  const s = text.replace(/\s+/g, "");
  if (s.length % 4 !== 0) return null;
  const padding = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s[i + j] as string;
      const isPad = c === "=" && i + 4 === s.length && j >= 4 - padding;
      const v = isPad ? 0 : alphabetIndex.get(c);
      if (v === undefined) return null;
      n = (n << 6) | v;
    }
    for (const shift of [16, 8, 0]) {
      if (o < out.length) out[o++] = (n >> shift) & 255;
    }
  }
  return out;
}

/** Encodes DER as one PEM block with 64-column lines and a trailing newline (RFC 7468 §2). */
export function derToPem(der: Uint8Array, label: string): string {
  const body = encodeBase64(der).replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

const blockPattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/**
 * Splits a PEM bundle (e.g. a leaf-first chain, or a CA file with several roots) into its blocks,
 * in order. Text between blocks is ignored (RFC 7468 §2 explanatory text); a block whose END label
 * differs from its BEGIN label, or whose body is not base64, refuses the whole bundle.
 */
export function splitPem(text: string): { readonly ok: true; readonly blocks: readonly PemBlock[] } | Rejection<"malformed"> {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(blockPattern)) {
    const [, label = "", body = "", endLabel = ""] = m;
    if (label !== endLabel) return reject("malformed", `PEM block "BEGIN ${label}" ends with "END ${endLabel}"`);
    const der = decodeBase64(body);
    if (!der) return reject("malformed", `PEM block "${label}" #${blocks.length + 1} is not valid base64`);
    blocks.push({ label, der });
  }
  return { ok: true, blocks };
}

/**
 * The DER of the first PEM block labelled `label` (any label when omitted); refused when the text
 * holds no such block.
 */
export function pemToDer(text: string, label?: string): { readonly ok: true; readonly der: Uint8Array<ArrayBuffer> } | Rejection<"malformed"> {
  const split = splitPem(text);
  if (!split.ok) return split;
  const block = split.blocks.find((b) => label === undefined || b.label === label);
  if (!block) return reject("malformed", `no PEM block${label ? ` "${label}"` : ""} found`);
  return { ok: true, der: block.der };
}

/** Concatenated PEM `CERTIFICATE` blocks, in the given order (a chain or a CA file). */
export function certificatesToPem(ders: readonly Uint8Array[]): string {
  return ders.map((d) => derToPem(d, "CERTIFICATE")).join("");
}
