// meshctl's exit codes, in one place. An interrupted command exits 128 + signal (143 on SIGTERM,
// 130 on SIGINT), set by @meshwork/runtime's runUntilStopped.

export const EXIT_CODES = {
  /** Nothing to report (info-level issues may have been printed). */
  clean: 0,
  /** At least one error or warning: the input needs attention. */
  findings: 1,
  /** The command could not run as asked: unknown flag, missing -f, unreadable file. */
  usage: 2,
} as const;

/** The exit-code paragraph of every command's --help. */
export const EXIT_CODES_HELP =
  "Exit codes: 0 no findings, 1 errors or warnings found, 2 usage error (bad flag, unreadable file), 130/143 interrupted.";
