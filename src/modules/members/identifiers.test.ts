import { describe, expect, it } from "vitest";
import { AppError } from "../../platform/errors.js";
import { normalizeIdentifier } from "./identifiers.js";
import type { IdentifierKind } from "./tables.js";

const pointer = "/body/identifiers/0/value";

function normalize(kind: IdentifierKind, raw: string, defaultCountry: string | null = null): string {
  return normalizeIdentifier(kind, raw, { defaultCountry, pointer });
}

/** The AppError a refused value throws, so its code, pointer and message can be checked. */
function refusal(kind: IdentifierKind, raw: string, defaultCountry: string | null = null): AppError {
  try {
    normalize(kind, raw, defaultCountry);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error(`${kind} ${JSON.stringify(raw)} was accepted`);
}

describe("normalizeIdentifier", () => {
  describe("email", () => {
    it("trims and lower-cases the whole address", () => {
      expect(normalize("email", "  Ana.Silva@Example.COM ")).toBe("ana.silva@example.com");
      expect(normalize("email", "ana.silva@example.com")).toBe("ana.silva@example.com");
      expect(normalize("email", "\tBOB+Tag@Sub.Example.org\n")).toBe("bob+tag@sub.example.org");
    });

    it.each([
      "",
      "   ",
      "ana",
      "ana@",
      "@example.com",
      "ana@example",
      "ana silva@example.com",
      "ana@@example.com",
      `${"a".repeat(250)}@example.com`,
    ])("refuses %j with the field's pointer", (raw) => {
      const error = refusal("email", raw);
      expect(error.code).toBe("invalid_field_value");
      expect(error.status).toBe(422);
      expect(error.errors).toEqual([{ pointer, message: expect.stringContaining("not an email address") }]);
    });
  });

  describe("phone", () => {
    // The same mobile number as people in each country write it locally and internationally.
    const numbers = [
      {
        country: "CN",
        e164: "+8613800138000",
        forms: ["138 0013 8000", "13800138000", "+86 138 0013 8000", "0086 138 0013 8000"],
      },
      {
        country: "US",
        e164: "+12133734253",
        forms: ["(213) 373-4253", "213.373.4253", "1-213-373-4253", "+1 213-373-4253"],
      },
      {
        country: "DE",
        e164: "+4915112345678",
        forms: ["0151 12345678", "01511 2345678", "+49 151 12345678", "0049 151 12345678"],
      },
      {
        country: "JP",
        e164: "+819012345678",
        forms: ["090-1234-5678", "09012345678", "+81 90-1234-5678", "+81 (0)90 1234 5678"],
      },
      {
        country: "BR",
        e164: "+5511912345678",
        forms: ["(11) 91234-5678", "11 91234-5678", "011 91234 5678", "+55 11 91234-5678"],
      },
    ];

    it.each(numbers)(
      "reads local and international forms in $country as one E.164 number",
      ({ country, e164, forms }) => {
        for (const form of forms) expect(normalize("phone", form, country), form).toBe(e164);
      },
    );

    it("reads international numbers whatever the default country", () => {
      for (const { e164 } of numbers) {
        expect(normalize("phone", e164, null)).toBe(e164);
        expect(normalize("phone", ` ${e164} `, "JP")).toBe(e164);
      }
    });

    it("refuses a local number without a default country, saying how to fix it", () => {
      const error = refusal("phone", "0151 12345678");
      expect(error.code).toBe("invalid_field_value");
      expect(error.errors).toEqual([{ pointer, message: expect.stringContaining("default_country") }]);
      expect(error.message).toContain("start it with + and the country code");
    });

    it("names the default country when a local number is not valid there", () => {
      const error = refusal("phone", "12345", "DE");
      expect(error.errors?.[0]?.pointer).toBe(pointer);
      expect(error.message).toContain("read as DE");
    });

    it.each([
      "",
      "abc",
      "+1",
      "+1 555",
      "+999 1234567",
      "call me at +12133734253 please",
      "+12133734253abc",
      "tel:+12133734253",
    ])("refuses %j", (raw) => {
      expect(refusal("phone", raw, "US").errors?.[0]?.pointer).toBe(pointer);
    });
  });

  describe("whatsapp", () => {
    it("reads a WhatsApp id (the number without +) as E.164", () => {
      expect(normalize("whatsapp", "4915112345678")).toBe("+4915112345678");
      expect(normalize("whatsapp", "8613800138000", "US")).toBe("+8613800138000");
      expect(normalize("whatsapp", "+4915112345678")).toBe("+4915112345678");
      expect(normalize("whatsapp", "+49 151 12345678")).toBe("+4915112345678");
    });

    it("reads a local number in the default country", () => {
      expect(normalize("whatsapp", "0151 12345678", "DE")).toBe("+4915112345678");
      expect(normalize("whatsapp", "015112345678", "DE")).toBe("+4915112345678");
      expect(normalize("whatsapp", "09012345678", "JP")).toBe("+819012345678");
    });

    it("refuses what is no number", () => {
      expect(refusal("whatsapp", "not-a-number").errors?.[0]?.pointer).toBe(pointer);
      expect(refusal("whatsapp", "015112345678").errors?.[0]?.pointer).toBe(pointer);
    });
  });

  describe("platform ids", () => {
    it("reads a Shopify GraphQL global id as the numeric customer id", () => {
      expect(normalize("shopify", "gid://shopify/Customer/123")).toBe("123");
      expect(normalize("shopify", "123")).toBe("123");
      expect(normalize("shopify", " 7012345678901 ")).toBe("7012345678901");
    });

    it.each(["gid://shopify/Order/123", "gid://shopify/Customer/abc", "abc", "12.5", "-1", "1".repeat(21)])(
      "refuses Shopify id %j",
      (raw) => {
        const error = refusal("shopify", raw);
        expect(error.errors).toEqual([{ pointer, message: expect.stringContaining("not a Shopify customer id") }]);
      },
    );

    it("keeps WooCommerce and Magento ids as they are, within bounds", () => {
      expect(normalize("woocommerce", " 42 ")).toBe("42");
      expect(normalize("magento", "cust_A-9")).toBe("cust_A-9");
      expect(refusal("woocommerce", "a b").errors?.[0]?.pointer).toBe(pointer);
      expect(refusal("magento", "x".repeat(65)).errors?.[0]?.pointer).toBe(pointer);
      expect(refusal("magento", "").errors?.[0]?.pointer).toBe(pointer);
    });

    it("keeps external ids (trimmed, case kept) and refuses control characters and blanks", () => {
      expect(normalize("external", "  CRM-Ünïcode/42 ")).toBe("CRM-Ünïcode/42");
      expect(normalize("external", "x".repeat(200))).toBe("x".repeat(200));
      for (const raw of ["", "   ", "a\u0000b", "line\nbreak", "x".repeat(201)]) {
        expect(refusal("external", raw).errors?.[0]?.pointer, JSON.stringify(raw)).toBe(pointer);
      }
    });
  });
});
