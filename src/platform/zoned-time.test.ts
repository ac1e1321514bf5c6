import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { zonedDateTime } from "./zoned-time.js";

/** The local time straight from Intl, with no caching, to check the cached arithmetic against. */
function fromIntl(instant: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    weekday: "short",
  }).formatToParts(instant);
  const value = (type: string) => parts.find((part) => part.type === type)?.value ?? "";
  return {
    year: Number(value("year")),
    month: Number(value("month")),
    day: Number(value("day")),
    hour: Number(value("hour")),
    minute: Number(value("minute")),
    weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(value("weekday")),
  };
}

// Zones with DST at odd hours, half- and quarter-hour offsets, a 30-minute DST shift, midnight
// changes, and Liberia's -0:44:30 until 1972 (a change off the quarter hour).
const zones = [
  "UTC",
  "Europe/Berlin",
  "America/New_York",
  "America/Santiago",
  "America/Havana",
  "Asia/Kathmandu",
  "Asia/Kolkata",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "Africa/Monrovia",
  "Asia/Tokyo",
];

describe("zonedDateTime", () => {
  it("agrees with Intl for any instant from 1970 to 2100 in zones with unusual offsets", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) }), fc.constantFrom(...zones), (ms, zone) => {
        const instant = new Date(ms);
        expect(zonedDateTime(instant, zone)).toEqual(fromIntl(instant, zone));
      }),
      { numRuns: 3000 },
    );
  });

  it("is right on both sides of a DST change and of Liberia's 1972 change", () => {
    const cases: Array<[string, string]> = [
      ["2026-03-29T00:59:59.999Z", "Europe/Berlin"],
      ["2026-03-29T01:00:00.000Z", "Europe/Berlin"],
      ["2026-04-05T02:59:59.999Z", "Australia/Lord_Howe"],
      ["2026-04-05T03:00:00.000Z", "Australia/Lord_Howe"],
      ["1972-01-07T00:44:29.999Z", "Africa/Monrovia"],
      ["1972-01-07T00:44:30.000Z", "Africa/Monrovia"],
    ];
    for (const [iso, zone] of cases) {
      const instant = new Date(iso);
      // Twice: the second answer comes from the cache.
      expect(zonedDateTime(instant, zone), `${iso} ${zone}`).toEqual(fromIntl(instant, zone));
      expect(zonedDateTime(instant, zone), `${iso} ${zone} (cached)`).toEqual(fromIntl(instant, zone));
    }
  });
});
