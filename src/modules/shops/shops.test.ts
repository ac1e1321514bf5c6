import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";

describeEachDialect("shop endpoints", (dialect) => {
  const t = useTestApp(dialect);

  it("returns the shop the secret key belongs to", async () => {
    const { shop, secretKey } = await createShop(t(), {
      name: "Kestrel Coffee",
      baseCurrency: "EUR",
      timezone: "Europe/Berlin",
    });
    const response = await t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(secretKey) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      id: shop.id,
      object: "shop",
      name: "Kestrel Coffee",
      base_currency: "EUR",
      timezone: "Europe/Berlin",
      default_locale: "en",
      created_at: "2026-03-01T12:00:00.000Z",
      updated_at: "2026-03-01T12:00:00.000Z",
    });
  });

  it("updates settings and canonicalizes the locale", async () => {
    const { secretKey } = await createShop(t());
    t().clock.advance(60_000);
    const response = await t().app.inject({
      method: "PATCH",
      url: "/v1/shop",
      headers: bearer(secretKey),
      payload: { name: "Renamed", timezone: "Asia/Tokyo", default_locale: "ja-jp", base_currency: "JPY" },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      name: "Renamed",
      timezone: "Asia/Tokyo",
      default_locale: "ja-JP",
      base_currency: "JPY",
      updated_at: "2026-03-01T12:01:00.000Z",
    });
    const again = await t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(secretKey) });
    expect(again.json().name).toBe("Renamed");
  });

  it("refuses a currency, time zone or locale that does not exist and changes nothing", async () => {
    const { secretKey } = await createShop(t(), { name: "Unchanged" });
    const response = await t().app.inject({
      method: "PATCH",
      url: "/v1/shop",
      headers: bearer(secretKey),
      payload: { name: "Changed", base_currency: "XYZ", timezone: "Mars/Olympus", default_locale: "not a locale" },
    });
    expect(response.statusCode).toBe(422);
    expect(response.headers["content-type"]).toContain("application/problem+json");
    const problem = response.json();
    expect(problem.code).toBe("invalid_field_value");
    expect(problem.errors.map((error: { pointer: string }) => error.pointer).sort()).toEqual([
      "/body/base_currency",
      "/body/default_locale",
      "/body/timezone",
    ]);
    const after = await t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(secretKey) });
    expect(after.json()).toMatchObject({ name: "Unchanged", base_currency: "USD", timezone: "UTC" });
  });

  it("refuses an empty patch", async () => {
    const { secretKey } = await createShop(t());
    const response = await t().app.inject({
      method: "PATCH",
      url: "/v1/shop",
      headers: bearer(secretKey),
      payload: {},
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe("validation_failed");
  });

  it("keeps each shop's settings to itself", async () => {
    const first = await createShop(t(), { name: "First" });
    const second = await createShop(t(), { name: "Second" });
    await t().app.inject({
      method: "PATCH",
      url: "/v1/shop",
      headers: bearer(first.secretKey),
      payload: { name: "First, renamed" },
    });
    const seen = await t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(second.secretKey) });
    expect(seen.json()).toMatchObject({ id: second.shop.id, name: "Second" });
  });
});
