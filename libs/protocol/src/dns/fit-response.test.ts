import { describe, expect, it } from "vitest";
import { type DnsMessage, type DnsRecord, decodeMessage, DNS_TYPE, encodeMessage } from "./dns-message.ts";
import { fitResponse } from "./fit-response.ts";

function a(name: string, i: number): DnsRecord {
  return { name, type: DNS_TYPE.A, class: 1, ttl: 0, data: { kind: "a", address: `10.0.${i >> 8}.${i & 0xff}` } };
}

function srv(i: number): DnsRecord {
  return { name: "web.service.consul", type: DNS_TYPE.SRV, class: 1, ttl: 0, data: { kind: "srv", priority: 1, weight: 1, port: 8000 + i, target: `node-${i}.node.dc1.consul` } };
}

function response(answers: DnsRecord[], additionals: DnsRecord[] = []): DnsMessage {
  return {
    id: 9,
    flags: { qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: false, z: 0, rcode: 0 },
    questions: [{ name: "web.service.consul", type: DNS_TYPE.SRV, class: 1 }],
    answers,
    authorities: [],
    additionals,
  };
}

const opt: DnsRecord = { name: "", type: DNS_TYPE.OPT, class: 4096, ttl: 0, data: { kind: "raw", bytes: new Uint8Array(0) } };

describe("fitResponse", () => {
  it("leaves a response that fits alone", () => {
    const message = response([a("web.service.consul", 1)]);
    expect(fitResponse(message, 512)).toEqual(encodeMessage(message));
  });

  // answers, additionals, limit → answers kept, additionals kept, TC.
  const cases: { name: string; answers: number; additionals: number; withOpt: boolean; limit: number }[] = [
    { name: "100 A answers in 512 bytes", answers: 100, additionals: 0, withOpt: false, limit: 512 },
    { name: "100 A answers with EDNS0 in 4096 bytes: all fit", answers: 100, additionals: 0, withOpt: true, limit: 4096 },
    { name: "20 SRV + 20 additional A in 512 bytes", answers: 20, additionals: 20, withOpt: false, limit: 512 },
    { name: "10 SRV + 10 additional A in 700 bytes (EDNS0)", answers: 10, additionals: 10, withOpt: true, limit: 700 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const answers = Array.from({ length: c.answers }, (_, i) => (c.additionals > 0 ? srv(i) : a("web.service.consul", i)));
      const additionals = [...Array.from({ length: c.additionals }, (_, i) => a(`node-${i}.node.dc1.consul`, i)), ...(c.withOpt ? [opt] : [])];
      const message = response(answers, additionals);
      const whole = encodeMessage(message);
      const bytes = fitResponse(message, c.limit);
      expect(bytes.length).toBeLessThanOrEqual(c.limit);
      const decoded = decodeMessage(bytes);
      expect(decoded.flags.tc).toBe(whole.length > c.limit);
      // What is kept is a prefix of what there was; the OPT record survives.
      expect(decoded.answers).toEqual(answers.slice(0, decoded.answers.length));
      expect(decoded.additionals.filter((r) => r.type !== DNS_TYPE.OPT)).toEqual(additionals.filter((r) => r.type !== DNS_TYPE.OPT).slice(0, decoded.additionals.filter((r) => r.type !== DNS_TYPE.OPT).length));
      expect(decoded.additionals.some((r) => r.type === DNS_TYPE.OPT)).toBe(c.withOpt);
      if (decoded.flags.tc) {
        // Maximal: one more record would not fit.
        const keptAll = decoded.answers.length === answers.length;
        const next = keptAll
          ? response(answers, [...additionals.filter((r) => r.type !== DNS_TYPE.OPT).slice(0, decoded.additionals.filter((r) => r.type !== DNS_TYPE.OPT).length + 1), ...(c.withOpt ? [opt] : [])])
          : response(answers.slice(0, decoded.answers.length + 1), c.withOpt ? [opt] : []);
        expect(encodeMessage({ ...next, flags: { ...next.flags, tc: true } }).length).toBeGreaterThan(c.limit);
        expect(decoded.answers.length).toBeGreaterThan(0);
      } else {
        expect(bytes).toEqual(whole);
      }
    });
  }
});
