import { describe, expect, it } from "vitest";
import { formatKeyringPools, parseKeyringPools } from "./format-gossip-keyring.ts";

describe("parseKeyringPools / formatKeyringPools", () => {
  it("lists each key with installed and primary counts, primary first, then member messages", () => {
    const pools = parseKeyringPools([
      { WAN: false, Datacenter: "dc1", Segment: "", Keys: { "old=": 3, "new=": 2 }, PrimaryKeys: { "new=": 2, "old=": 1 }, NumNodes: 3, Messages: { n3: "no answer" } },
    ]);
    expect(pools).toEqual([
      {
        datacenter: "dc1",
        wan: false,
        numNodes: 3,
        keys: [
          { key: "new=", installed: 2, primary: 2 },
          { key: "old=", installed: 3, primary: 1 },
        ],
        messages: [{ node: "n3", message: "no answer" }],
      },
    ]);
    expect(formatKeyringPools(pools ?? [])).toBe(["dc1 (LAN), 3 members:", "  KEY   INSTALLED  PRIMARY", "  new=  2/3        2/3", "  old=  3/3        1/3", "  n3: no answer", ""].join("\n"));
  });

  it("refuses an answer that is not a list of keyring pools", () => {
    expect(parseKeyringPools({ Keys: {} })).toBeUndefined();
    expect(parseKeyringPools([{ Datacenter: "dc1" }])).toBeUndefined();
  });
});
