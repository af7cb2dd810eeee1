// Reads a duration flag such as `--ttl 1h` or `--ttl 90m30s` into whole seconds, the unit workload
// tokens carry (RFC 7519 §4.1.4 NumericDate). Pure.

const unitSeconds: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Outcome of {@link parseDurationSeconds}. */
export type DurationResult = { readonly ok: true; readonly seconds: number } | { readonly ok: false; readonly detail: string };

/**
 * Parses one or more `<integer><unit>` parts (units s, m, h, d, in any order, e.g. "1h", "90s",
 * "1h30m") into seconds. A bare integer is seconds. Zero, negative, fractional and empty
 * durations are refused with a sentence saying what is accepted.
 */
export function parseDurationSeconds(text: string): DurationResult {
  const accepted = 'expected a positive duration such as "90s", "30m", "1h" or "1h30m" (units s, m, h, d)';
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return seconds > 0 ? { ok: true, seconds } : { ok: false, detail: `"${text}": ${accepted}` };
  }
  if (!/^(\d+[smhd])+$/.test(text)) return { ok: false, detail: `"${text}": ${accepted}` };
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhd])/g)) seconds += Number(amount) * (unitSeconds[unit ?? "s"] ?? 1);
  if (seconds <= 0 || !Number.isSafeInteger(seconds)) return { ok: false, detail: `"${text}": ${accepted}` };
  return { ok: true, seconds };
}
