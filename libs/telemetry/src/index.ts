// Public entry of @meshwork/telemetry: the logging facade (metrics and tracing join it later).

export { createLogger } from "./create-logger.ts";
export type { LogFields, Logger, LoggerOptions } from "./create-logger.ts";
export { isLogLevel, LOG_LEVELS } from "./log-level.ts";
export type { LogLevel } from "./log-level.ts";
