import { describe, expect, it } from "vitest";
import { aggregateStatus } from "./aggregate-status.ts";

describe("aggregateStatus", () => {
  it("is passing without checks", () => {
    expect(aggregateStatus([])).toBe("passing");
  });
  it("takes the worst status: critical > warning > passing", () => {
    expect(aggregateStatus([{ status: "passing" }, { status: "passing" }])).toBe("passing");
    expect(aggregateStatus([{ status: "passing" }, { status: "warning" }])).toBe("warning");
    expect(aggregateStatus([{ status: "critical" }, { status: "warning" }, { status: "passing" }])).toBe("critical");
    expect(aggregateStatus([{ status: "warning" }, { status: "critical" }])).toBe("critical");
  });
});
