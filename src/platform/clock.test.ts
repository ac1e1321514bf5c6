import { describe, expect, it } from "vitest";
import { addMonths } from "./clock.js";

describe("addMonths", () => {
  it("keeps the day of the month, or takes the last day of a shorter month", () => {
    expect(addMonths("2026-01-31T10:00:00.000Z", 1)).toBe("2026-02-28T10:00:00.000Z");
    expect(addMonths("2028-01-31T10:00:00.000Z", 1)).toBe("2028-02-29T10:00:00.000Z");
    expect(addMonths("2028-02-29T23:59:59.999Z", 12)).toBe("2029-02-28T23:59:59.999Z");
    expect(addMonths("2026-03-15T00:00:00.000Z", 12)).toBe("2027-03-15T00:00:00.000Z");
    expect(addMonths("2026-11-30T12:00:00.000Z", 3)).toBe("2027-02-28T12:00:00.000Z");
    expect(addMonths("2026-05-31T12:00:00.000Z", 24)).toBe("2028-05-31T12:00:00.000Z");
  });
});
