// Certificate serial numbers: 128 random bits from WebCrypto, so serials never repeat and cannot
// be predicted (CA/Browser Forum BR §7.1 asks for at least 64; RFC 5280 §4.1.2.2 caps at 20 octets).

/**
 * 16 random bytes as lowercase hex. @peculiar/x509 encodes it as a positive DER INTEGER
 * (leading zero bytes stripped, a 0x00 prepended when the top bit is set), at most 17 octets.
 */
export function randomSerialHex(crypto: Crypto): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `date` rounded down to a whole second: X.509 times have one-second resolution (RFC 5280 §4.1.2.5). */
export function floorToSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
