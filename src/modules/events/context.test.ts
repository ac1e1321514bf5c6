import { describe, expect, it } from "vitest";
import { isBirthday } from "./context.js";

describe("isBirthday", () => {
  const march3 = { birthday_month: 3, birthday_day: 3 };

  it("is the birthday's date in the shop time zone, not in UTC", () => {
    // 2026-03-02 20:00 UTC is already 3 March in Tokyo, and still 2 March in New York.
    const instant = new Date("2026-03-02T20:00:00Z");
    expect(isBirthday(march3, instant, "Asia/Tokyo")).toBe(true);
    expect(isBirthday(march3, instant, "America/New_York")).toBe(false);
    expect(isBirthday(march3, instant, "UTC")).toBe(false);
  });

  it("celebrates 29 February on 28 February in other years, and only then", () => {
    const leapling = { birthday_month: 2, birthday_day: 29 };
    expect(isBirthday(leapling, new Date("2027-02-28T12:00:00Z"), "UTC")).toBe(true);
    expect(isBirthday(leapling, new Date("2028-02-28T12:00:00Z"), "UTC")).toBe(false);
    expect(isBirthday(leapling, new Date("2028-02-29T12:00:00Z"), "UTC")).toBe(true);
    expect(isBirthday(leapling, new Date("2100-02-28T12:00:00Z"), "UTC")).toBe(true);
  });

  it("is false without a birthday", () => {
    expect(isBirthday({ birthday_month: null, birthday_day: null }, new Date(), "UTC")).toBe(false);
  });
});
