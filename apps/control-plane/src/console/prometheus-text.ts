// Reads the Prometheus text exposition format (what a sidecar serves on /stats/prometheus) into
// samples: the console's scrape source keeps only the Istio series it aggregates.

/** One sample: a metric name, its labels, its value. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * The samples of `text` whose metric name passes `keep` (all by default). Comment lines, blank
 * lines and lines that do not parse are skipped: a scrape is best effort, one bad line must not
 * hide the rest.
 */
export function parsePrometheusText(text: string, keep: (name: string) => boolean = () => true): MetricSample[] {
  const out: MetricSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.indexOf(" ");
    const nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!keep(name)) continue;
    let labels: Record<string, string> = {};
    let rest: string;
    if (nameEnd === brace) {
      const parsed = parseLabels(line, brace + 1);
      if (parsed === undefined) continue;
      labels = parsed.labels;
      rest = line.slice(parsed.end + 1);
    } else {
      rest = line.slice(nameEnd);
    }
    const valueText = rest.trim().split(/\s+/)[0] ?? "";
    const value = parseValue(valueText);
    if (value === undefined) continue;
    out.push({ name, labels, value });
  }
  return out;
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (text === "") return undefined;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/** Labels from `line[start]` (after `{`) up to the closing `}`: its index is `end`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let i = start;
  for (;;) {
    while (line[i] === " " || line[i] === ",") i++;
    if (line[i] === "}") return { labels, end: i };
    const eq = line.indexOf("=", i);
    if (eq < 0 || line[eq + 1] !== '"') return undefined;
    const key = line.slice(i, eq).trim();
    let value = "";
    let j = eq + 2;
    for (; j < line.length; j++) {
      const c = line[j];
      if (c === "\\") {
        const next = line[j + 1];
        value += next === "n" ? "\n" : (next ?? "");
        j++;
      } else if (c === '"') {
        break;
      } else {
        value += c;
      }
    }
    if (j >= line.length) return undefined;
    labels[key] = value;
    i = j + 1;
  }
}
