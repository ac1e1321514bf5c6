import { createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { verifyBase64HmacSha256 } from "./signatures.js";

const fixtures = new URL("../../../shared/fixtures/", import.meta.url);

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(new URL(path, fixtures), "utf8"));
}

const shopify = readJson("shopify/hmac-test-vectors.json") as {
  vectors: Array<{ secret: string; raw_body: string; expected_hmac_base64: string; headers: Record<string, string> }>;
};
const woocommerce = readJson("woocommerce/signature-test-vectors.json") as {
  vectors: Array<{ secret: string; raw_body: string; expected_signature_base64: string }>;
};

const shopifyVector = shopify.vectors[0];
const wooVector = woocommerce.vectors[0];
if (!shopifyVector || !wooVector) throw new Error("the fixture vectors are missing");

/** The header with the character at `index` replaced by another base64 character. */
function flipCharacter(header: string, index: number): string {
  const character = header.charAt(index);
  return header.slice(0, index) + (character === "A" ? "B" : "A") + header.slice(index + 1);
}

describe("verifyBase64HmacSha256", () => {
  it("accepts Shopify's official vector, as string and as bytes", () => {
    expect(shopify.vectors).toHaveLength(1);
    expect(shopifyVector.expected_hmac_base64).toBe("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=");
    expect(shopifyVector.headers["X-Shopify-Hmac-Sha256"]).toBe(shopifyVector.expected_hmac_base64);
    const header = shopifyVector.headers["X-Shopify-Hmac-Sha256"];
    expect(verifyBase64HmacSha256(shopifyVector.raw_body, shopifyVector.secret, header)).toBe(true);
    expect(verifyBase64HmacSha256(Buffer.from(shopifyVector.raw_body), shopifyVector.secret, header)).toBe(true);
  });

  it("accepts WooCommerce core's vector, whose secret is empty", () => {
    expect(woocommerce.vectors).toHaveLength(1);
    expect(wooVector.secret).toBe("");
    expect(wooVector.expected_signature_base64).toBe("GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs=");
    expect(verifyBase64HmacSha256(wooVector.raw_body, wooVector.secret, wooVector.expected_signature_base64)).toBe(
      true,
    );
    expect(
      verifyBase64HmacSha256(Buffer.from(wooVector.raw_body), wooVector.secret, wooVector.expected_signature_base64),
    ).toBe(true);
  });

  it("refuses a body with one byte changed", () => {
    const body = Buffer.from(shopifyVector.raw_body);
    for (let index = 0; index < body.length; index++) {
      const flipped = Buffer.from(body);
      flipped[index] = (flipped[index] ?? 0) ^ 0x01;
      expect(verifyBase64HmacSha256(flipped, shopifyVector.secret, shopifyVector.expected_hmac_base64)).toBe(false);
    }
    expect(verifyBase64HmacSha256(`${wooVector.raw_body} `, "", wooVector.expected_signature_base64)).toBe(false);
  });

  it("refuses a header with one character changed", () => {
    const header = shopifyVector.expected_hmac_base64;
    for (const index of [0, 10, 21, 42]) {
      expect(verifyBase64HmacSha256(shopifyVector.raw_body, shopifyVector.secret, flipCharacter(header, index))).toBe(
        false,
      );
    }
  });

  it("refuses the non-canonical spelling of the right digest", () => {
    // "g" and "h" differ only in the 2 bits the decoder drops: both decode to the same 32 bytes.
    const header = shopifyVector.expected_hmac_base64;
    expect(header.endsWith("g=")).toBe(true);
    const lenient = `${header.slice(0, 42)}h=`;
    expect(Buffer.from(lenient, "base64").equals(Buffer.from(header, "base64"))).toBe(true);
    expect(verifyBase64HmacSha256(shopifyVector.raw_body, shopifyVector.secret, lenient)).toBe(false);
  });

  it("refuses the wrong secret", () => {
    expect(verifyBase64HmacSha256(shopifyVector.raw_body, "test_secret_kez", shopifyVector.expected_hmac_base64)).toBe(
      false,
    );
    expect(verifyBase64HmacSha256(shopifyVector.raw_body, "", shopifyVector.expected_hmac_base64)).toBe(false);
    expect(verifyBase64HmacSha256(wooVector.raw_body, "secret", wooVector.expected_signature_base64)).toBe(false);
    // The key is the secret's UTF-8 bytes, not its base64 decoding.
    const decodedKey = Buffer.from(shopifyVector.secret, "base64").toString("latin1");
    expect(verifyBase64HmacSha256(shopifyVector.raw_body, decodedKey, shopifyVector.expected_hmac_base64)).toBe(false);
  });

  it("refuses a missing or empty header", () => {
    expect(verifyBase64HmacSha256(shopifyVector.raw_body, shopifyVector.secret, undefined)).toBe(false);
    expect(verifyBase64HmacSha256(shopifyVector.raw_body, shopifyVector.secret, "")).toBe(false);
  });

  it("refuses headers that are not the base64 of 32 bytes", () => {
    const digest = createHmac("sha256", wooVector.secret).update(wooVector.raw_body).digest();
    const header = wooVector.expected_signature_base64;
    for (const malformed of [
      "fake",
      "not base64 at all!!",
      digest.toString("hex"),
      digest.toString("base64url"),
      header.slice(0, -1),
      `${header}=`,
      ` ${header}`,
      `${header} `,
      `sha256=${header}`,
      header.toLowerCase(),
      Buffer.concat([digest, Buffer.from([0])]).toString("base64"),
      digest.subarray(0, 31).toString("base64"),
    ]) {
      expect(verifyBase64HmacSha256(wooVector.raw_body, wooVector.secret, malformed)).toBe(false);
    }
  });

  it("never throws, whatever the caller passes", () => {
    const header = shopifyVector.expected_hmac_base64;
    const body = shopifyVector.raw_body;
    expect(verifyBase64HmacSha256(body, undefined as unknown as string, header)).toBe(false);
    expect(verifyBase64HmacSha256(body, shopifyVector.secret, [header] as unknown as string)).toBe(false);
    expect(verifyBase64HmacSha256(null as unknown as string, shopifyVector.secret, header)).toBe(false);
  });

  it("verifies the exact bytes of every payload fixture, and not the same JSON serialized again", () => {
    const secret = "hush";
    const files = [
      ...readdirSync(new URL("shopify/rest-2026-07/", fixtures)).map((name) => `shopify/rest-2026-07/${name}`),
      ...readdirSync(new URL("shopify/compliance/", fixtures)).map((name) => `shopify/compliance/${name}`),
      ...readdirSync(new URL("woocommerce/rest-v3-docs/", fixtures)).map((name) => `woocommerce/rest-v3-docs/${name}`),
    ];
    expect(files).toHaveLength(13);
    for (const file of files) {
      const raw = readFileSync(new URL(file, fixtures));
      const signature = createHmac("sha256", secret).update(raw).digest("base64");
      expect(verifyBase64HmacSha256(raw, secret, signature)).toBe(true);
      expect(verifyBase64HmacSha256(raw.toString("utf8"), secret, signature)).toBe(true);
      const reserialized = JSON.stringify(JSON.parse(raw.toString("utf8")));
      expect(verifyBase64HmacSha256(reserialized, secret, signature)).toBe(false);
    }
  });
});
