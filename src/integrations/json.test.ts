import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AppError } from "../platform/errors.js";
import { optionalId, optionalTimestamp, parseWebhookJson } from "./json.js";

const fixtures = new URL("../../../shared/fixtures/", import.meta.url);

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error("was accepted");
}

describe("parseWebhookJson", () => {
  it("keeps integers beyond 2^53 as their exact digits", () => {
    expect(JSON.parse('{"id": 820982911946154508}').id).toBe(820982911946154500);
    expect(parseWebhookJson('{"id": 820982911946154508, "n": -9007199254740993}')).toEqual({
      id: "820982911946154508",
      n: "-9007199254740993",
    });
    expect(parseWebhookJson('[9007199254740991,9007199254740992,{"a":[18446744073709551615]}]')).toEqual([
      9007199254740991,
      "9007199254740992",
      { a: ["18446744073709551615"] },
    ]);
  });

  it("leaves strings, fractions and exponents alone", () => {
    expect(
      parseWebhookJson(
        '{"s": "12345678901234567890", "q": "say \\"12345678901234567890\\"", "f": 12345678901234567890.5, "e": 1e300, "p": "19.99"}',
      ),
    ).toEqual({
      s: "12345678901234567890",
      q: 'say "12345678901234567890"',
      f: 12345678901234567000,
      e: 1e300,
      p: "19.99",
    });
  });

  it("reads bytes as UTF-8", () => {
    expect(parseWebhookJson(Buffer.from('{"name": "Léon", "id": 99999999999999999}'))).toEqual({
      name: "Léon",
      id: "99999999999999999",
    });
  });

  it("parses every payload fixture as JSON.parse does (none has an id beyond 2^53)", () => {
    for (const folder of ["shopify/rest-2026-07/", "shopify/compliance/", "woocommerce/rest-v3-docs/"]) {
      for (const name of readdirSync(new URL(folder, fixtures))) {
        const raw = readFileSync(new URL(`${folder}${name}`, fixtures), "utf8");
        expect(parseWebhookJson(raw)).toEqual(JSON.parse(raw));
      }
    }
  });

  it.each(["", "webhook_id=142", '{"id": 1', "{12345678901234567890: 1}", "[1 2]"])(
    "refuses %j as malformed JSON",
    (text) => {
      const error = refusal(() => parseWebhookJson(text));
      expect(error.code).toBe("malformed_json");
      expect(error.status).toBe(400);
    },
  );
});

describe("optionalId", () => {
  const read = (value: unknown) => optionalId({ id: value }, "id", "/body");

  it("reads safe integers and digit strings, 0 and null as none", () => {
    expect(read(450789469)).toBe("450789469");
    expect(read("820982911946154508")).toBe("820982911946154508");
    expect(read("0042")).toBe("42");
    expect(read(0)).toBeNull();
    expect(read("0")).toBeNull();
    expect(read(null)).toBeNull();
    expect(read(undefined)).toBeNull();
  });

  it("refuses an id that was rounded when parsed", () => {
    const error = refusal(() => read(820982911946154500));
    expect(error.errors).toEqual([
      {
        pointer: "/body/id",
        message: "is an id beyond 2^53 that was rounded when parsed; parse the raw body with parseWebhookJson",
      },
    ]);
  });

  it.each([-1, 1.5, "abc", "12a", "", "123456789012345678901", true, {}])("refuses %j", (value) => {
    expect(refusal(() => read(value)).errors?.[0]?.pointer).toBe("/body/id");
  });
});

describe("optionalTimestamp", () => {
  const read = (value: unknown, utc = false) => optionalTimestamp({ at: value }, "at", "/body", { utc });

  it("converts to UTC", () => {
    expect(read("2025-04-02T11:30:45-05:00")).toBe("2025-04-02T16:30:45.000Z");
    expect(read("2025-04-02T23:30:45.123+09:00")).toBe("2025-04-02T14:30:45.123Z");
    expect(read("2025-04-02T11:30:45Z")).toBe("2025-04-02T11:30:45.000Z");
    expect(read("2017-03-22T19:28:02", true)).toBe("2017-03-22T19:28:02.000Z");
    expect(read(null)).toBeNull();
  });

  it.each([
    "2017-03-22T19:28:02",
    "2017-03-22 19:28:02-05:00",
    "2025-02-30T00:00:00Z",
    "2025-13-01T00:00:00Z",
    "2025-01-01T24:00:00Z",
    "2025-01-01T12:00:00+25:00",
    "yesterday",
    1743611445,
  ])("refuses %j", (value) => {
    const error = refusal(() => read(value));
    expect(error.code).toBe("validation_failed");
    expect(error.errors?.[0]?.pointer).toBe("/body/at");
  });
});
