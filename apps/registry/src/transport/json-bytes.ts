// JSON that keeps byte arrays: a Uint8Array (or Buffer) becomes `{"$b64": "<base64>"}` and comes
// back as a Uint8Array. The transport's encoding of Raft messages and forwarded results.

const marker = "$b64";

/** `JSON.stringify` with every Uint8Array written as `{"$b64": base64}`. */
export function stringifyWithBytes(value: unknown): string {
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key: string, current: unknown) {
    // The holder's own property: Buffer.toJSON has not run on it yet.
    const original = key === "" ? current : this[key];
    if (original instanceof Uint8Array) return { [marker]: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString("base64") };
    return current;
  });
}

/** `JSON.parse` turning every `{"$b64": base64}` back into a Uint8Array. */
export function parseWithBytes(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      const encoded = record[marker];
      if (typeof encoded === "string" && Object.keys(record).length === 1) {
        const buffer = Buffer.from(encoded, "base64");
        return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      }
    }
    return value;
  });
}
