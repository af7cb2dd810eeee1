// PEM and base64 against Node's Buffer as the reference model, and bundle splitting.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { certificatesToPem, decodeBase64, derToPem, encodeBase64, pemToDer, splitPem } from "./pem.ts";

describe("base64", () => {
  it("encodes like Buffer and decodes back", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("base64"));
        expect(decodeBase64(text)).toEqual(new Uint8Array(bytes));
      }),
      { seed: 1, numRuns: 500 },
    );
  });

  it("refuses text that is not padded standard base64", () => {
    for (const bad of ["abc", "ab=c", "a===", "ab-_", "ab*d", "=abc"]) expect(decodeBase64(bad), bad).toBeNull();
    expect(decodeBase64("YW Jj\nZA==")).toEqual(new TextEncoder().encode("abcd"));
  });
});

describe("PEM", () => {
  it("wraps at 64 columns and round-trips", () => {
    const der = new Uint8Array(100).map((_, i) => i);
    const pem = derToPem(der, "CERTIFICATE");
    expect(pem.split("\n").every((line) => line.length <= 64)).toBe(true);
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]*\n-----END CERTIFICATE-----\n$/);
    expect(pemToDer(pem)).toEqual({ ok: true, der });
  });

  it("splits a bundle in order, skipping text between blocks, and picks a block by label", () => {
    const text = `intro\n${certificatesToPem([new Uint8Array([1]), new Uint8Array([2, 2])])}comment\n${derToPem(new Uint8Array([3]), "PRIVATE KEY")}`;
    const split = splitPem(text);
    expect(split).toEqual({
      ok: true,
      blocks: [
        { label: "CERTIFICATE", der: new Uint8Array([1]) },
        { label: "CERTIFICATE", der: new Uint8Array([2, 2]) },
        { label: "PRIVATE KEY", der: new Uint8Array([3]) },
      ],
    });
    expect(pemToDer(text, "PRIVATE KEY")).toEqual({ ok: true, der: new Uint8Array([3]) });
  });

  it("refuses mismatched labels, bad bodies and missing blocks", () => {
    expect(splitPem("-----BEGIN CERTIFICATE-----\nAQ==\n-----END PRIVATE KEY-----\n")).toMatchObject({ ok: false, reason: "malformed" });
    expect(splitPem("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")).toMatchObject({ ok: false, reason: "malformed" });
    expect(pemToDer("no pem here")).toMatchObject({ ok: false, reason: "malformed" });
    expect(pemToDer(derToPem(new Uint8Array([1]), "CERTIFICATE"), "CERTIFICATE REQUEST")).toMatchObject({ ok: false, reason: "malformed" });
  });
});
