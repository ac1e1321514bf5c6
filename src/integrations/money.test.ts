import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../platform/errors.js";
import { parseDecimalAmount } from "./money.js";

function refusal(text: unknown, currency: string, pointer?: string): AppError {
  try {
    parseDecimalAmount(text as string, currency, pointer);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error(`${JSON.stringify(text)} ${currency} was accepted`);
}

describe("parseDecimalAmount", () => {
  it.each([
    ["19.99", "USD", 1999],
    ["1000", "JPY", 1000],
    ["1.234", "KWD", 1234],
    ["598.94", "USD", 59894],
    ["0.29", "USD", 29],
    ["5", "USD", 500],
    ["5.5", "USD", 550],
    ["0.00", "USD", 0],
    ["007.50", "EUR", 750],
    ["-10.00", "USD", -1000],
    ["0.5", "KWD", 500],
  ])("reads %s %s as %i minor units", (text, currency, minor) => {
    expect(parseDecimalAmount(text, currency)).toBe(minor);
  });

  it("rounds extra decimals half up, away from zero", () => {
    expect(parseDecimalAmount("0.125", "USD")).toBe(13);
    expect(parseDecimalAmount("0.1249999", "USD")).toBe(12);
    expect(parseDecimalAmount("-0.125", "USD")).toBe(-13);
    expect(parseDecimalAmount("-0.124", "USD")).toBe(-12);
    // 1.005 * 100 is 100.49999999999999 in floating point; the digits say 100.5.
    expect(parseDecimalAmount("1.005", "USD")).toBe(101);
    expect(parseDecimalAmount("1.5", "JPY")).toBe(2);
    expect(parseDecimalAmount("1.49", "JPY")).toBe(1);
    expect(parseDecimalAmount("0.0005", "KWD")).toBe(1);
    expect(parseDecimalAmount("0.0004", "KWD")).toBe(0);
    expect(parseDecimalAmount("9.995", "USD")).toBe(1000);
  });

  it("never returns negative zero", () => {
    expect(Object.is(parseDecimalAmount("-0.00", "USD"), 0)).toBe(true);
    expect(Object.is(parseDecimalAmount("-0.001", "USD"), 0)).toBe(true);
  });

  it("reads JS numbers through their shortest string", () => {
    expect(parseDecimalAmount(3, "USD")).toBe(300);
    expect(parseDecimalAmount(12, "USD")).toBe(1200);
    expect(parseDecimalAmount(195.66, "USD")).toBe(19566);
    expect(parseDecimalAmount(0.1 + 0.2, "USD")).toBe(30);
    // Math.round(12.345 * 100) is 1234: the float is a hair below 12.345.
    expect(parseDecimalAmount(12.345, "USD")).toBe(1235);
    expect(parseDecimalAmount(-3.5, "JPY")).toBe(-4);
    expect(parseDecimalAmount(1e-7, "USD")).toBe(0);
    expect(parseDecimalAmount(5e-3, "USD")).toBe(1);
    expect(parseDecimalAmount(1.5e3, "JPY")).toBe(1500);
  });

  it("is exact up to Number.MAX_SAFE_INTEGER minor units and refuses more", () => {
    expect(parseDecimalAmount("90071992547409.91", "USD")).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseDecimalAmount("9007199254740991", "JPY")).toBe(Number.MAX_SAFE_INTEGER);
    expect(refusal("90071992547409.92", "USD").message).toContain("too large");
    expect(refusal("90071992547409.915", "USD").message).toContain("too large");
    expect(refusal("9007199254740992", "JPY").message).toContain("too large");
    expect(refusal(1e21, "USD").message).toContain("too large");
  });

  it.each([
    "",
    " 1.00",
    "1.00 ",
    "1,000.00",
    "1.000,00",
    "1.",
    ".5",
    "+1",
    "1e3",
    "0x10",
    "abc",
    "1.2.3",
    "--1",
    "١٢",
    "Infinity",
  ])("refuses the text %j", (text) => {
    const error = refusal(text, "USD");
    expect(error.code).toBe("validation_failed");
    expect(error.status).toBe(400);
    expect(error.message).toContain("decimal amount");
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])("refuses the number %s", (value) => {
    expect(refusal(value, "USD").message).toContain("finite");
  });

  it.each([null, undefined, true, {}, []])("refuses %j, which is no amount", (value) => {
    expect(refusal(value, "USD").code).toBe("validation_failed");
  });

  it.each(["usd", "US", "EURO", "ZZZ", ""])("refuses the currency %j", (currency) => {
    expect(refusal("1.00", currency).message).toContain("ISO 4217");
  });

  it("addresses the error at the pointer it is given", () => {
    const error = refusal("12,00", "EUR", "/body/total_price");
    expect(error.errors).toEqual([
      { pointer: "/body/total_price", message: 'must be a decimal amount such as "19.99", got "12,00"' },
    ]);
    expect(error.message).toBe('/body/total_price must be a decimal amount such as "19.99", got "12,00"');
    expect(refusal("12,00", "EUR").errors).toBeUndefined();
  });

  it("reads back any amount written with the currency's decimals", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("USD", "JPY", "KWD", "EUR", "CLP", "BHD"),
        fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        (currency, minor) => {
          const places = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
            .maximumFractionDigits as number;
          const digits = String(Math.abs(minor)).padStart(places + 1, "0");
          const text = `${minor < 0 ? "-" : ""}${places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`}`;
          expect(parseDecimalAmount(text, currency)).toBe(minor);
        },
      ),
    );
  });
});
