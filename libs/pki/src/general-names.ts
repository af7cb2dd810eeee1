// Reads GeneralNames (RFC 5280 §4.2.1.6), the value of a subjectAltName extension, keeping the
// URI and DNS names; other name types (IP, email, otherName...) are skipped, not refused.
import { contentOf, readChildren, readNode, tags } from "./der.ts";

/** The URI and DNS names of a GeneralNames value. */
export interface SanNames {
  readonly uris: string[];
  readonly dnsNames: string[];
}

/** GeneralName tags: uniformResourceIdentifier [6] and dNSName [2], IMPLICIT IA5String. */
const uriTag = 0x86;
const dnsTag = 0x82;

/** Reads a DER GeneralNames; `null` when it is not one or a URI / DNS name is not ASCII. */
export function readGeneralNames(der: Uint8Array): SanNames | null {
  const seq = readNode(der, 0);
  if (!seq || seq.tag !== tags.sequence || seq.end !== der.length) return null;
  const children = readChildren(der, seq);
  if (!children) return null;
  const uris: string[] = [];
  const dnsNames: string[] = [];
  for (const name of children) {
    if (name.tag !== uriTag && name.tag !== dnsTag) continue;
    const text = ascii(contentOf(der, name));
    if (text === null) return null;
    (name.tag === uriTag ? uris : dnsNames).push(text);
  }
  return { uris, dnsNames };
}

/** Decodes IA5String content; `null` on a byte above 0x7f. */
export function ascii(bytes: Uint8Array): string | null {
  let out = "";
  for (const b of bytes) {
    if (b > 0x7f) return null;
    out += String.fromCharCode(b);
  }
  return out;
}
