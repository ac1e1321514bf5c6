import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { zonedDateTime, zonedDayStart } from "../../platform/zoned-time.js";
import { applyLimit, type LimitPeriod, limitWindow, type RuleLimit, validateLimits } from "./limits.js";

const hour = 60 * 60 * 1000;

function hoursLong(window: { start: string | null; end: string | null }): number {
  return (Date.parse(window.end ?? "") - Date.parse(window.start ?? "")) / hour;
}

describe("limitWindow: days in the shop time zone", () => {
  it("America/New_York: 23:59 and 00:01 local fall in different days", () => {
    const lateEvening = limitWindow("day", new Date("2026-06-11T03:59:00Z"), "America/New_York");
    const justAfterMidnight = limitWindow("day", new Date("2026-06-11T04:01:00Z"), "America/New_York");
    expect(lateEvening).toEqual({ start: "2026-06-10T04:00:00.000Z", end: "2026-06-11T04:00:00.000Z" });
    expect(justAfterMidnight).toEqual({ start: "2026-06-11T04:00:00.000Z", end: "2026-06-12T04:00:00.000Z" });
  });

  it("Asia/Tokyo: the local day runs from 15:00 UTC to 15:00 UTC", () => {
    expect(limitWindow("day", new Date("2026-01-01T14:59:59.999Z"), "Asia/Tokyo")).toEqual({
      start: "2025-12-31T15:00:00.000Z",
      end: "2026-01-01T15:00:00.000Z",
    });
    expect(limitWindow("day", new Date("2026-01-01T15:00:00Z"), "Asia/Tokyo")).toEqual({
      start: "2026-01-01T15:00:00.000Z",
      end: "2026-01-02T15:00:00.000Z",
    });
  });

  it("Europe/Berlin: 29 March 2026 has 23 hours and 25 October 2026 has 25", () => {
    const spring = limitWindow("day", new Date("2026-03-29T12:00:00Z"), "Europe/Berlin");
    expect(spring).toEqual({ start: "2026-03-28T23:00:00.000Z", end: "2026-03-29T22:00:00.000Z" });
    expect(hoursLong(spring)).toBe(23);
    const autumn = limitWindow("day", new Date("2026-10-25T12:00:00Z"), "Europe/Berlin");
    expect(autumn).toEqual({ start: "2026-10-24T22:00:00.000Z", end: "2026-10-25T23:00:00.000Z" });
    expect(hoursLong(autumn)).toBe(25);
    // The repeated hour, 02:00–03:00, happens twice and belongs to the same day both times.
    expect(limitWindow("day", new Date("2026-10-25T00:30:00Z"), "Europe/Berlin")).toEqual(autumn);
    expect(limitWindow("day", new Date("2026-10-25T01:30:00Z"), "Europe/Berlin")).toEqual(autumn);
    expect(hoursLong(limitWindow("day", new Date("2026-10-26T12:00:00Z"), "Europe/Berlin"))).toBe(24);
  });

  it("zones that change at midnight: the day starts when it begins, at 01:00 or at the first midnight", () => {
    // America/Santiago skipped 00:00–01:00 on 8 September 2024.
    expect(zonedDayStart(2024, 9, 8, "America/Santiago").toISOString()).toBe("2024-09-08T04:00:00.000Z");
    expect(hoursLong(limitWindow("day", new Date("2024-09-08T12:00:00Z"), "America/Santiago"))).toBe(23);
    // America/Havana skips 00:00–01:00 on 8 March 2026 and repeats 00:00–01:00 on 1 November 2026.
    expect(zonedDayStart(2026, 3, 8, "America/Havana").toISOString()).toBe("2026-03-08T05:00:00.000Z");
    expect(zonedDayStart(2026, 11, 1, "America/Havana").toISOString()).toBe("2026-11-01T04:00:00.000Z");
    expect(hoursLong(limitWindow("day", new Date("2026-11-01T12:00:00Z"), "America/Havana"))).toBe(25);
  });

  it("zonedDayStart lets days and months run over", () => {
    expect(zonedDayStart(2026, 1, 32, "UTC").toISOString()).toBe("2026-02-01T00:00:00.000Z");
    expect(zonedDayStart(2026, 13, 1, "Asia/Tokyo").toISOString()).toBe("2026-12-31T15:00:00.000Z");
    expect(zonedDayStart(2026, 3, 0, "UTC").toISOString()).toBe("2026-02-28T00:00:00.000Z");
  });

  it("zonedDateTime gives the local date, time and weekday", () => {
    expect(zonedDateTime(new Date("2026-03-08T06:59:00Z"), "America/New_York")).toEqual({
      year: 2026,
      month: 3,
      day: 8,
      hour: 1,
      minute: 59,
      weekday: 0,
    });
  });
});

describe("limitWindow: weeks, months, lifetime", () => {
  it("weeks start on Monday unless told otherwise", () => {
    // Sunday 14 June 2026, 20:00 in New York.
    const sunday = new Date("2026-06-15T00:00:00Z");
    expect(limitWindow("week", sunday, "America/New_York")).toEqual({
      start: "2026-06-08T04:00:00.000Z",
      end: "2026-06-15T04:00:00.000Z",
    });
    expect(limitWindow("week", sunday, "America/New_York", 0)).toEqual({
      start: "2026-06-14T04:00:00.000Z",
      end: "2026-06-21T04:00:00.000Z",
    });
    expect(limitWindow("week", sunday, "America/New_York", 6)).toEqual({
      start: "2026-06-13T04:00:00.000Z",
      end: "2026-06-20T04:00:00.000Z",
    });
    // The same instant is Monday 15 June in Tokyo.
    expect(limitWindow("week", sunday, "Asia/Tokyo")).toEqual({
      start: "2026-06-14T15:00:00.000Z",
      end: "2026-06-21T15:00:00.000Z",
    });
  });

  it("a week runs across months and years, and is 167 hours over the spring change", () => {
    expect(limitWindow("week", new Date("2026-01-01T12:00:00Z"), "UTC")).toEqual({
      start: "2025-12-29T00:00:00.000Z",
      end: "2026-01-05T00:00:00.000Z",
    });
    expect(hoursLong(limitWindow("week", new Date("2026-03-26T12:00:00Z"), "Europe/Berlin"))).toBe(167);
  });

  it("months are local calendar months", () => {
    // 31 January 23:30 in New York is already February in UTC.
    expect(limitWindow("month", new Date("2026-02-01T04:30:00Z"), "America/New_York")).toEqual({
      start: "2026-01-01T05:00:00.000Z",
      end: "2026-02-01T05:00:00.000Z",
    });
    expect(limitWindow("month", new Date("2026-12-31T15:00:00Z"), "Asia/Tokyo")).toEqual({
      start: "2026-12-31T15:00:00.000Z",
      end: "2027-01-31T15:00:00.000Z",
    });
    const march = limitWindow("month", new Date("2026-03-15T12:00:00Z"), "Europe/Berlin");
    expect(march).toEqual({ start: "2026-02-28T23:00:00.000Z", end: "2026-03-31T22:00:00.000Z" });
    expect(hoursLong(march)).toBe(31 * 24 - 1);
    expect(hoursLong(limitWindow("month", new Date("2028-02-15T12:00:00Z"), "UTC"))).toBe(29 * 24);
  });

  it("lifetime has no bounds", () => {
    expect(limitWindow("lifetime", new Date("2026-06-15T00:00:00Z"), "Asia/Tokyo")).toEqual({ start: null, end: null });
  });

  it("refuses a week start that is not a weekday", () => {
    expect(() => limitWindow("week", new Date(), "UTC", 7)).toThrow(RangeError);
    expect(() => limitWindow("day", new Date(), "UTC", 1.5)).toThrow(RangeError);
  });

  const zones = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Kolkata",
  ];
  const periods: LimitPeriod[] = ["day", "week", "month"];

  it("property: the window holds the instant, and the next window starts where it ends", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2040-01-01T00:00:00Z"), noInvalidDate: true }),
        fc.constantFrom(...zones),
        fc.constantFrom(...periods),
        fc.integer({ min: 0, max: 6 }),
        (at, zone, period, weekStartsOn) => {
          const window = limitWindow(period, at, zone, weekStartsOn);
          const start = Date.parse(window.start ?? "");
          const end = Date.parse(window.end ?? "");
          expect(start).toBeLessThanOrEqual(at.getTime());
          expect(at.getTime()).toBeLessThan(end);
          expect(limitWindow(period, new Date(start), zone, weekStartsOn)).toEqual(window);
          expect(limitWindow(period, new Date(end - 1), zone, weekStartsOn)).toEqual(window);
          expect(limitWindow(period, new Date(end), zone, weekStartsOn).start).toBe(window.end);
          // The window starts where a local date starts (01:00 where a DST change skips midnight).
          const local = zonedDateTime(new Date(start), zone);
          const before = zonedDateTime(new Date(start - 1), zone);
          expect([before.year, before.month, before.day]).not.toEqual([local.year, local.month, local.day]);
          if (period === "day") {
            expect([23, 24, 25]).toContain(hoursLong(window));
          }
          if (period === "week") {
            expect(local.weekday).toBe(weekStartsOn);
          }
          if (period === "month") {
            expect(local.day).toBe(1);
          }
        },
      ),
    );
  });
});

describe("applyLimit", () => {
  const points = (max: number): RuleLimit => ({ period: "day", max_points: max });
  const awards = (max: number): RuleLimit => ({ period: "lifetime", max_awards: max });

  it("a points limit lets through what is left of it", () => {
    expect(applyLimit({ limit: points(500), alreadyAwarded: { points: 0, awards: 0 }, proposed: 200 })).toEqual({
      awarded: 200,
      cutBy: 0,
    });
    expect(applyLimit({ limit: points(500), alreadyAwarded: { points: 400, awards: 2 }, proposed: 200 })).toEqual({
      awarded: 100,
      cutBy: 100,
    });
    expect(applyLimit({ limit: points(500), alreadyAwarded: { points: 500, awards: 3 }, proposed: 200 })).toEqual({
      awarded: 0,
      cutBy: 200,
    });
    // More than the limit already awarded (the limit was lowered): nothing more, never negative.
    expect(applyLimit({ limit: points(500), alreadyAwarded: { points: 700, awards: 3 }, proposed: 200 })).toEqual({
      awarded: 0,
      cutBy: 200,
    });
  });

  it("an awards limit lets through all or nothing", () => {
    expect(applyLimit({ limit: awards(1), alreadyAwarded: { points: 0, awards: 0 }, proposed: 50 })).toEqual({
      awarded: 50,
      cutBy: 0,
    });
    expect(applyLimit({ limit: awards(1), alreadyAwarded: { points: 50, awards: 1 }, proposed: 50 })).toEqual({
      awarded: 0,
      cutBy: 50,
    });
    expect(applyLimit({ limit: awards(3), alreadyAwarded: { points: 100_000, awards: 2 }, proposed: 50 })).toEqual({
      awarded: 50,
      cutBy: 0,
    });
  });

  it("property: awarded + cut = proposed, and a points limit is never passed", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.boolean(),
        (max, already, alreadyAwards, proposed, byPoints) => {
          const limit = byPoints ? points(max) : awards(max);
          const { awarded, cutBy } = applyLimit({
            limit,
            alreadyAwarded: { points: already, awards: alreadyAwards },
            proposed,
          });
          expect(awarded + cutBy).toBe(proposed);
          expect(awarded).toBeGreaterThanOrEqual(0);
          if (byPoints) {
            expect(already + awarded <= Math.max(max, already)).toBe(true);
            expect(awarded === proposed || already + awarded >= max).toBe(true);
          } else {
            expect(awarded).toBe(alreadyAwards < max ? proposed : 0);
          }
        },
      ),
    );
  });
});

describe("validateLimits", () => {
  it("accepts points and awards limits", () => {
    expect(
      validateLimits([
        { period: "day", max_points: 500 },
        { period: "day", max_awards: 3 },
        { period: "lifetime", max_awards: 1 },
      ]),
    ).toEqual([]);
  });

  it("points at every problem", () => {
    expect(validateLimits({ period: "day" })).toEqual([{ pointer: "/limits", message: expect.any(String) }]);
    expect(validateLimits(Array.from({ length: 9 }, () => ({ period: "day", max_points: 1 })))).toHaveLength(1);
    expect(
      validateLimits(
        [
          "daily",
          { period: "year", max_points: 5 },
          { period: "day" },
          { period: "day", max_points: 5, max_awards: 1 },
          { period: "week", max_points: 0 },
          { period: "week", max_awards: 1.5 },
          { period: "month", max_points: 10, per: "member" },
        ],
        "/rule/limits",
      ).map((error) => error.pointer),
    ).toEqual([
      "/rule/limits/0",
      "/rule/limits/1/period",
      "/rule/limits/2",
      "/rule/limits/3",
      "/rule/limits/4/max_points",
      "/rule/limits/5/max_awards",
      "/rule/limits/6/per",
    ]);
    expect(
      validateLimits([
        { period: "lifetime", max_awards: 1 },
        { period: "lifetime", max_points: 100 },
        { period: "lifetime", max_awards: 2 },
      ]),
    ).toEqual([{ pointer: "/limits/2", message: "repeats the lifetime max_awards limit" }]);
  });
});
