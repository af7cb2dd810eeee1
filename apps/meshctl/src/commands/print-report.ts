// The last step validate and analyze share: print the findings in the chosen format, colouring
// only where the terminal allows, and return the exit code they call for.

import { findingsExitCode, formatReport, type Report } from "../core/format-report.ts";
import { shouldColor } from "../core/should-color.ts";
import type { CommandIo } from "./command.ts";

export interface PrintSettings {
  readonly output: "human" | "json";
  readonly color: "auto" | "always" | "never";
}

/** Writes the report to stdout; 1 when it holds an error or a warning, else 0. */
export function printReport(report: Report, settings: PrintSettings, io: CommandIo): 0 | 1 {
  const color = shouldColor(settings.color, io.terminal);
  io.writeOut(formatReport(report, { output: settings.output, color }));
  return findingsExitCode(report.issues);
}
