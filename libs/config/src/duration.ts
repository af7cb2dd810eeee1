// Durations as Istio accepts them in YAML: Go's time.ParseDuration syntax (`300ms`, `1.5s`,
// `1h30m`), which is what users write in Istio's examples (`baseEjectionTime: 3m`).

const unitMs: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const termPattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a non-negative Go-style duration into milliseconds; `undefined` when the text is not one.
 * A bare `0` is accepted, as Go does. Every other term needs a unit.
 */
export function parseDurationMs(text: string): number | undefined {
  if (text === "0") return 0;
  if (text.length === 0) return undefined;
  let total = 0;
  termPattern.lastIndex = 0;
  while (termPattern.lastIndex < text.length) {
    const start = termPattern.lastIndex;
    const m = termPattern.exec(text);
    if (!m || m.index !== start) return undefined;
    total += Number(m[1]) * (unitMs[m[2] as string] as number);
  }
  // Round away floating noise below a nanosecond (e.g. 0.1s + 0.2s).
  return Math.round(total * 1e6) / 1e6;
}

const formatUnitsNs: readonly [string, number][] = [
  ["h", 3_600_000_000_000],
  ["m", 60_000_000_000],
  ["s", 1_000_000_000],
  ["ms", 1_000_000],
  ["us", 1_000],
  ["ns", 1],
];

/** Renders milliseconds in the largest unit that keeps the value whole (`90000` → `90s`, `1500` → `1500ms`). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0s";
  // Whole nanoseconds are exact integers up to ~104 days; beyond that, milliseconds suffice.
  const ns = Math.round(ms * 1e6);
  if (!Number.isSafeInteger(ns)) return `${ms}ms`;
  for (const [unit, size] of formatUnitsNs) {
    if (ns % size === 0) return `${ns / size}${unit}`;
  }
  return `${ms}ms`;
}
