import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadLocalKeyring, localKeyringPath, writeLocalKeyring } from "./local-keyring.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "local-keyring-"));
  dirs.push(dir);
  return dir;
};
const key = () => randomBytes(32).toString("base64");

describe("local keyring file (serf/local.keyring)", () => {
  it("the flag keys seed the file when there is none; a rewrite replaces it whole, leaving no temp file", () => {
    const path = localKeyringPath(tempDir());
    const [k1, k2] = [key(), key()];
    const logs: string[] = [];
    expect(loadLocalKeyring(path, [k1], (_level, msg) => void logs.push(msg))).toEqual([k1]);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual([k1]);
    writeLocalKeyring(path, [k2, k1]);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual([k2, k1]);
    expect(readdirSync(join(path, ".."))).toEqual(["local.keyring"]);
    expect(logs).toEqual([]);
  });

  it("an existing file wins over the flag keys, with a warning", () => {
    const path = localKeyringPath(tempDir());
    const [k1, k2] = [key(), key()];
    writeLocalKeyring(path, [k2]);
    const logs: { level: string; msg: string }[] = [];
    expect(loadLocalKeyring(path, [k1], (level, msg) => void logs.push({ level, msg }))).toEqual([k2]);
    expect(logs).toEqual([{ level: "warn", msg: expect.stringContaining("gossip keyring file exists: --gossip-key / --gossip-keyring-file ignored") }]);
  });

  it("no file and no flag keys: no encryption and no file", () => {
    const dir = tempDir();
    expect(loadLocalKeyring(localKeyringPath(dir), [], () => undefined)).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses an empty or broken keyring file, naming it and the fix", () => {
    const path = localKeyringPath(tempDir());
    writeLocalKeyring(path, []);
    expect(() => loadLocalKeyring(path, [], () => undefined)).toThrow(/holds no keys: delete it to seed it from --gossip-key again/);
    writeFileSync(path, '["short"]');
    expect(() => loadLocalKeyring(path, [], () => undefined)).toThrow(/16, 24 or 32 bytes/);
  });
});
