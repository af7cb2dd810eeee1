import { describe, expect, it } from "vitest";
import { createLogger, type LoggerOptions } from "./create-logger.ts";

const fixedNow = () => new Date("2026-11-22T10:00:00.000Z");

function captureLogger(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({ name: "meshctl", now: fixedNow, write: (line) => lines.push(line), ...options });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, records };
}

describe("createLogger", () => {
  it("writes one JSON line per record with time, level, name and msg first", () => {
    const { logger, lines } = captureLogger();
    logger.info("loaded config", { resources: 3 });
    expect(lines).toEqual([
      '{"time":"2026-11-22T10:00:00.000Z","level":"info","name":"meshctl","msg":"loaded config","resources":3}\n',
    ]);
  });

  it("drops records below the configured level and keeps the rest", () => {
    const { logger, records } = captureLogger({ level: "warn" });
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(records().map((r) => [r["level"], r["msg"]])).toEqual([
      ["warn", "w"],
      ["error", "e"],
    ]);
    expect(logger.level).toBe("warn");
    expect(logger.isLevelEnabled("info")).toBe(false);
    expect(logger.isLevelEnabled("error")).toBe(true);
  });

  it("defaults to level info", () => {
    const { logger, records } = captureLogger();
    logger.debug("hidden");
    logger.info("shown");
    expect(records().map((r) => r["msg"])).toEqual(["shown"]);
  });

  it("child() adds fields to every record; call fields override child fields", () => {
    const { logger, records } = captureLogger({ fields: { pid: 7 } });
    const child = logger.child({ command: "validate", file: "a.yaml" }).child({ attempt: 1 });
    child.info("reading", { file: "b.yaml" });
    expect(records()[0]).toEqual({
      time: "2026-11-22T10:00:00.000Z",
      level: "info",
      name: "meshctl",
      msg: "reading",
      pid: 7,
      command: "validate",
      file: "b.yaml",
      attempt: 1,
    });
  });

  it("child() keeps the parent's level", () => {
    const { logger, records } = captureLogger({ level: "error" });
    logger.child({ a: 1 }).warn("hidden");
    expect(records()).toEqual([]);
  });

  it("does not let fields replace time, level, name or msg", () => {
    const { logger, lines } = captureLogger();
    logger.child({ level: "debug" }).warn("real", { msg: "fake", name: "other", time: "then" });
    expect(lines[0]).toBe('{"time":"2026-11-22T10:00:00.000Z","level":"warn","name":"meshctl","msg":"real"}\n');
  });

  it("writes Errors with name, message, stack, own properties and cause", () => {
    const { logger, records } = captureLogger();
    const cause = new Error("disk full");
    const error = Object.assign(new Error("cannot write", { cause }), { code: "ENOSPC" });
    logger.error("write failed", { err: error });
    const err = records()[0]?.["err"] as Record<string, unknown>;
    expect(err["name"]).toBe("Error");
    expect(err["message"]).toBe("cannot write");
    expect(err["code"]).toBe("ENOSPC");
    expect(err["stack"]).toContain("cannot write");
    expect((err["cause"] as Record<string, unknown>)["message"]).toBe("disk full");
  });

  it("writes bigints as strings", () => {
    const { logger, records } = captureLogger();
    logger.info("index", { index: 2n ** 64n });
    expect(records()[0]?.["index"]).toBe("18446744073709551616");
  });

  it("still writes the record when fields are circular", () => {
    const { logger, records } = captureLogger();
    const loop: Record<string, unknown> = {};
    loop["self"] = loop;
    logger.warn("odd input", { loop });
    const record = records()[0];
    expect(record?.["msg"]).toBe("odd input");
    expect(record?.["logError"]).toMatch(/not serialisable/);
  });

  it("uses the injected clock for every record", () => {
    let ms = Date.parse("2026-01-01T00:00:00.000Z");
    const { logger, records } = captureLogger({ now: () => new Date((ms += 1000)) });
    logger.info("a");
    logger.info("b");
    expect(records().map((r) => r["time"])).toEqual(["2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z"]);
  });
});
