#!/usr/bin/env node
// Resident memory of one process by kind of mapping (Linux /proc/PID/smaps), for the registry's
// RSS figure (issue 5): file-backed pages (the node binary, libraries), glibc's main arena ([heap],
// grown by brk), glibc's thread arenas (anonymous 64 MiB-aligned reservations: a read-write part
// followed by a PROT_NONE rest), thread stacks, and every other anonymous mapping (V8's heap
// pages, large mmapped malloc blocks, ArrayBuffer backing stores above the mmap threshold).
// `node smaps-breakdown.mjs PID [--top N]` prints MB per kind and the largest anonymous mappings.
import { readFileSync } from "node:fs";

const ARENA = 64 * 1024 * 1024;

export function smapsBreakdown(pid) {
  const text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  const maps = [];
  let cur = null;
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      cur = { start: parseInt(head[1], 16), end: parseInt(head[2], 16), perms: head[3], inode: Number(head[4]), name: head[5].trim(), rssKb: 0, anonKb: 0 };
      maps.push(cur);
      continue;
    }
    if (!cur) continue;
    if (line.startsWith("Rss:")) cur.rssKb = Number(line.split(/\s+/)[1]);
    else if (line.startsWith("Anonymous:")) cur.anonKb = Number(line.split(/\s+/)[1]);
  }
  // A thread arena: an anonymous rw mapping at a 64 MiB boundary whose next mapping is the PROT_NONE
  // rest of the same 64 MiB reservation (glibc's new_heap), or the whole 64 MiB when fully grown.
  const kindOf = (m, i) => {
    if (m.inode !== 0 || (m.name && !m.name.startsWith("["))) return "file";
    if (m.name === "[heap]") return "brk_heap";
    if (m.name.startsWith("[stack")) return "stack";
    if (m.name) return "other_named";
    const next = maps[i + 1];
    if (m.start % ARENA === 0 && m.perms.startsWith("rw") && (m.end - m.start === ARENA || (next && next.start === m.end && next.perms.startsWith("---") && (next.end - m.start) === ARENA))) return "malloc_arena";
    if (m.perms.startsWith("---")) return "guard";
    return "other_anon";
  };
  const sums = {};
  const anon = [];
  maps.forEach((m, i) => {
    const k = kindOf(m, i);
    sums[k] = (sums[k] ?? 0) + m.rssKb;
    if (k !== "file" && m.rssKb > 0) anon.push({ kind: k, mb: +(m.rssKb / 1024).toFixed(1), size_mb: +((m.end - m.start) / 1048576).toFixed(1), perms: m.perms, at: m.start.toString(16) });
  });
  const mb = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, +(v / 1024).toFixed(1)]));
  anon.sort((a, b) => b.mb - a.mb);
  return { mb, anon };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const pid = Number(process.argv[2]);
  const top = process.argv.includes("--top") ? Number(process.argv[process.argv.indexOf("--top") + 1]) : 15;
  const { mb, anon } = smapsBreakdown(pid);
  console.log(JSON.stringify(mb));
  for (const a of anon.slice(0, top)) console.log(`${a.kind.padEnd(12)} ${String(a.mb).padStart(7)} MB of ${String(a.size_mb).padStart(7)} MB ${a.perms} @${a.at}`);
}
