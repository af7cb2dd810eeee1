// The four log levels, their order, and the parse step that turns a setting's text into one.
// Kept apart from the logger so settings declarations can list the choices without a logger.

/** Log levels from most to least verbose. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** True when `text` names a level exactly (lower case, as written in settings and log lines). */
export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/** Numeric rank of a level; a record is written when its rank is at least the logger's. */
export function levelRank(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}
