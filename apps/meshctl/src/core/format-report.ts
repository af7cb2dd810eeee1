// Turns a command's findings into what meshctl prints on stdout: one line per issue and a summary
// (human), or `{"issues":[...],"resources":N}` (json); and the exit code the findings call for.

import { formatIssue, type ConfigIssue } from "@meshwork/config";

export interface Report {
  readonly issues: readonly ConfigIssue[];
  /** Resources that loaded (passed validation). */
  readonly resources: number;
  /** Sources read (files, and stdin). */
  readonly files: number;
}

export interface ReportFormat {
  readonly output: "human" | "json";
  /** ANSI colours in human output; never in json. */
  readonly color: boolean;
}

const COLORS = { error: "\u001b[31m", warning: "\u001b[33m", info: "\u001b[36m", clean: "\u001b[32m" } as const;
const RESET = "\u001b[0m";

/** The whole stdout text of a report, ending with a newline. Issues keep the order given. */
export function formatReport(report: Report, format: ReportFormat): string {
  if (format.output === "json") {
    return `${JSON.stringify({ issues: report.issues, resources: report.resources }, null, 2)}\n`;
  }
  const paint = (color: keyof typeof COLORS, text: string) => (format.color ? `${COLORS[color]}${text}${RESET}` : text);
  const lines = report.issues.map((issue) => paint(issue.severity, formatIssue(issue)));
  lines.push(summarize(report, paint));
  return `${lines.join("\n")}\n`;
}

/** 1 when any issue is an error or a warning (findings to act on), else 0. */
export function findingsExitCode(issues: readonly ConfigIssue[]): 0 | 1 {
  return issues.some((issue) => issue.severity === "error" || issue.severity === "warning") ? 1 : 0;
}

function summarize(report: Report, paint: (color: keyof typeof COLORS, text: string) => string): string {
  const scope = `${plural(report.files, "file")}, ${plural(report.resources, "resource")} loaded`;
  const counts = (["error", "warning", "info"] as const)
    .map((severity) => [severity, report.issues.filter((issue) => issue.severity === severity).length] as const)
    .filter(([, count]) => count > 0);
  if (counts.length === 0) return paint("clean", `No issues found (${scope}).`);
  const found = counts.map(([severity, count]) => (severity === "info" ? `${count} info` : plural(count, severity))).join(", ");
  const worst = counts[0]?.[0] ?? "info";
  return paint(worst, `Found ${found} (${scope}).`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
