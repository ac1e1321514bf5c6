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
      redemption_rate: { points: 100, amount: 100, currency: "EUR", is_default: true },
      enrollment_mode: "auto",
      default_country: null,
      allow_negative_balance: false,
      redeemed_points_on_refund: "keep",
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

describeEachDialect("shop redemption rate", (dialect) => {
  const t = useTestApp(dialect);

  async function patch(secretKey: string, payload: unknown) {
    return t().app.inject({ method: "PATCH", url: "/v1/shop", headers: bearer(secretKey), payload: payload as object });
  }

  async function rateOf(secretKey: string) {
    const response = await t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(secretKey) });
    expect(response.statusCode).toBe(200);
    return response.json().redemption_rate;
  }

  it("defaults to 100 points = 1 unit, or 1 point = 1 unit without minor units", async () => {
    const usd = await createShop(t(), { baseCurrency: "USD" });
    const jpy = await createShop(t(), { baseCurrency: "JPY" });
    const kwd = await createShop(t(), { baseCurrency: "KWD" });
    expect(await rateOf(usd.secretKey)).toEqual({ points: 100, amount: 100, currency: "USD", is_default: true });
    expect(await rateOf(jpy.secretKey)).toEqual({ points: 1, amount: 1, currency: "JPY", is_default: true });
    expect(await rateOf(kwd.secretKey)).toEqual({ points: 100, amount: 1000, currency: "KWD", is_default: true });
  });

  it("sets the shop's own rate and returns to the default with null", async () => {
    const { secretKey } = await createShop(t(), { baseCurrency: "EUR" });
    const set = await patch(secretKey, { redemption_rate: { points: 250, amount: 100 } });
    expect(set.statusCode, set.body).toBe(200);
    const own = { points: 250, amount: 100, currency: "EUR", is_default: false };
    expect(set.json().redemption_rate).toEqual(own);
    expect(await rateOf(secretKey)).toEqual(own);

    const renamed = await patch(secretKey, { name: "Renamed" });
    expect(renamed.json().redemption_rate).toEqual(own);

    const reset = await patch(secretKey, { redemption_rate: null });
    expect(reset.statusCode).toBe(200);
    const fallback = { points: 100, amount: 100, currency: "EUR", is_default: true };
    expect(reset.json().redemption_rate).toEqual(fallback);
    expect(await rateOf(secretKey)).toEqual(fallback);
  });

  it("returns to the new currency's default when the currency changes without a rate", async () => {
    const { secretKey } = await createShop(t(), { baseCurrency: "USD" });
    await patch(secretKey, { redemption_rate: { points: 50, amount: 100 } });

    const same = await patch(secretKey, { base_currency: "USD" });
    expect(same.json().redemption_rate).toEqual({ points: 50, amount: 100, currency: "USD", is_default: false });

    const toYen = await patch(secretKey, { base_currency: "JPY" });
    expect(toYen.statusCode).toBe(200);
    expect(toYen.json().redemption_rate).toEqual({ points: 1, amount: 1, currency: "JPY", is_default: true });

    const withRate = await patch(secretKey, { base_currency: "KWD", redemption_rate: { points: 10, amount: 5 } });
    expect(withRate.json().redemption_rate).toEqual({ points: 10, amount: 5, currency: "KWD", is_default: false });
    expect(await rateOf(secretKey)).toEqual({ points: 10, amount: 5, currency: "KWD", is_default: false });
  });

  it("refuses a rate that is not two positive whole numbers, and changes nothing", async () => {
    const { secretKey } = await createShop(t(), { baseCurrency: "USD" });
    await patch(secretKey, { redemption_rate: { points: 200, amount: 150 } });
    const before = await rateOf(secretKey);
    const cases: Array<[unknown, string[]]> = [
      [{ points: 0, amount: 100 }, ["/body/redemption_rate/points"]],
      [{ points: 100, amount: 0 }, ["/body/redemption_rate/amount"]],
      [{ points: -5, amount: 100 }, ["/body/redemption_rate/points"]],
      [{ points: 100, amount: -1 }, ["/body/redemption_rate/amount"]],
      [{ points: 1.5, amount: 100 }, ["/body/redemption_rate/points"]],
      [{ points: 100, amount: 0.25 }, ["/body/redemption_rate/amount"]],
      [{ points: "100", amount: 100 }, ["/body/redemption_rate/points"]],
      [{ points: 1_000_000_001, amount: 100 }, ["/body/redemption_rate/points"]],
      [{ points: 100, amount: 100, currency: "EUR" }, ["/body/redemption_rate/currency"]],
      [{ points: 100 }, ["/body/redemption_rate/amount"]],
      [{}, ["/body/redemption_rate/amount", "/body/redemption_rate/points"]],
      [100, ["/body/redemption_rate"]],
    ];
    for (const [rate, pointers] of cases) {
      const response = await patch(secretKey, { name: "Changed", redemption_rate: rate });
      expect(response.statusCode, JSON.stringify(rate)).toBe(400);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      const problem = response.json();
      expect(problem.code).toBe("validation_failed");
      const named = new Set(problem.errors.map((error: { pointer: string }) => error.pointer));
      for (const pointer of pointers) expect(named.has(pointer), `${JSON.stringify(rate)} ${pointer}`).toBe(true);
    }
    expect(await rateOf(secretKey)).toEqual(before);
    const shop = await t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(secretKey) });
    expect(shop.json().name).toMatch(/^Test Shop \d+$/);
  });
});

describeEachDialect("shop negative balance setting", (dialect) => {
  const t = useTestApp(dialect);

  async function patch(secretKey: string, payload: unknown) {
    return t().app.inject({ method: "PATCH", url: "/v1/shop", headers: bearer(secretKey), payload: payload as object });
  }

  async function shopOf(secretKey: string) {
    const response = await t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(secretKey) });
    expect(response.statusCode).toBe(200);
    return response.json();
  }

  async function storedFlag(shopId: string): Promise<number> {
    const row = await t()
      .database.db.selectFrom("shops")
      .select("allow_negative_balance")
      .where("id", "=", shopId)
      .executeTakeFirstOrThrow();
    return Number(row.allow_negative_balance);
  }

  it("is false by default, turns on and off, and is stored as 1 or 0", async () => {
    const { shop, secretKey } = await createShop(t());
    expect(shop.allowNegativeBalance).toBe(false);
    expect((await shopOf(secretKey)).allow_negative_balance).toBe(false);
    expect(await storedFlag(shop.id)).toBe(0);

    t().clock.advance(60_000);
    const on = await patch(secretKey, { allow_negative_balance: true });
    expect(on.statusCode, on.body).toBe(200);
    expect(on.json()).toMatchObject({ allow_negative_balance: true, updated_at: t().clock.now().toISOString() });
    expect((await shopOf(secretKey)).allow_negative_balance).toBe(true);
    expect(await storedFlag(shop.id)).toBe(1);

    // Other settings leave it as it is.
    const renamed = await patch(secretKey, { name: "Renamed" });
    expect(renamed.json()).toMatchObject({ name: "Renamed", allow_negative_balance: true });

    const off = await patch(secretKey, { allow_negative_balance: false });
    expect(off.json().allow_negative_balance).toBe(false);
    expect(await storedFlag(shop.id)).toBe(0);
  });

  it("can be set when a shop is created", async () => {
    const { shop, secretKey } = await createShop(t(), { allowNegativeBalance: true });
    expect(shop.allowNegativeBalance).toBe(true);
    expect((await shopOf(secretKey)).allow_negative_balance).toBe(true);
  });

  it("takes only true or false, and a bad value changes nothing", async () => {
    const { shop, secretKey } = await createShop(t(), { name: "Unchanged" });
    for (const value of [1, 0, "true", "yes", null, {}]) {
      const response = await patch(secretKey, { name: "Changed", allow_negative_balance: value });
      expect(response.statusCode, JSON.stringify(value)).toBe(400);
      const problem = response.json();
      expect(problem.code).toBe("validation_failed");
      expect(problem.errors.map((error: { pointer: string }) => error.pointer)).toEqual([
        "/body/allow_negative_balance",
      ]);
    }
    expect(await shopOf(secretKey)).toMatchObject({ name: "Unchanged", allow_negative_balance: false });
    expect(await storedFlag(shop.id)).toBe(0);
  });

  it("belongs to one shop", async () => {
    const first = await createShop(t());
    const second = await createShop(t());
    await patch(first.secretKey, { allow_negative_balance: true });
    expect((await shopOf(first.secretKey)).allow_negative_balance).toBe(true);
    expect((await shopOf(second.secretKey)).allow_negative_balance).toBe(false);
    expect(await storedFlag(second.shop.id)).toBe(0);
  });

  it("is described in OpenAPI", async () => {
    const document = (await t().app.inject({ method: "GET", url: "/openapi.json" })).json();
    const json = JSON.stringify(document);
    expect(json).toContain("the shortfall is recorded as points owed (debt) that later earnings repay first");
  });
});
