import { describe, expect, it } from "vitest";
import { respondToDnsPacket } from "./respond-to-dns-packet.ts";
import { decodeMessage, DNS_RCODE, DNS_TYPE, encodeMessage, type DnsMessage } from "@meshwork/protocol/dns-wire";

const request: DnsMessage = {
  id: 9,
  flags: { qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0 },
  questions: [{ name: "web.service.consul", type: DNS_TYPE.A, class: 1 }],
  answers: [],
  authorities: [],
  additionals: [],
};

const answered = (message: DnsMessage): DnsMessage => ({ ...message, flags: { ...message.flags, qr: true, aa: true } });

describe("respondToDnsPacket", () => {
  it("answers synchronously when the answer is synchronous", () => {
    const bytes = respondToDnsPacket(encodeMessage(request), false, answered);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(decodeMessage(bytes as Uint8Array)).toMatchObject({ id: 9, flags: { qr: true, rcode: DNS_RCODE.NOERROR } });
  });

  it("answers an asynchronous answer when it settles, and SERVFAIL when it rejects or throws", async () => {
    const later = await respondToDnsPacket(encodeMessage(request), true, (m) => Promise.resolve(answered(m)));
    expect(decodeMessage(later as Uint8Array).flags.rcode).toBe(DNS_RCODE.NOERROR);
    const logged: string[] = [];
    const failed = await respondToDnsPacket(encodeMessage(request), false, () => Promise.reject(new Error("no registry server accepted the request")), (_level, msg, fields) => void logged.push(`${msg}: ${String(fields["error"])}`));
    expect(decodeMessage(failed as Uint8Array)).toMatchObject({ id: 9, flags: { qr: true, rcode: DNS_RCODE.SERVFAIL }, questions: request.questions });
    expect(logged).toEqual(["dns: query failed: no registry server accepted the request"]);
    const thrown = respondToDnsPacket(encodeMessage(request), false, () => {
      throw new Error("bug");
    });
    expect(decodeMessage(thrown as Uint8Array).flags.rcode).toBe(DNS_RCODE.SERVFAIL);
  });

  it("answers FORMERR to a readable header with a broken body and drops responses", () => {
    const packet = encodeMessage(request);
    const formErr = respondToDnsPacket(packet.slice(0, 14), false, answered);
    expect(decodeMessage(formErr as Uint8Array)).toMatchObject({ id: 9, flags: { rcode: DNS_RCODE.FORMERR } });
    expect(respondToDnsPacket(encodeMessage(answered(request)), false, answered)).toBeUndefined();
  });
});
