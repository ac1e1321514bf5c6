import type { LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, type TestApp, useTestApp } from "../../../test/support/app.js";
import { convertMinorUnits, convertToShopCurrency, normalizeRate, parseRate } from "./index.js";

type Response = LightMyRequestResponse;
type Json = Record<string, unknown>;

const minute = 60_000;

describe("parseRate and normalizeRate", () => {
  it("reads a rate exactly, as a fraction over a power of ten without trailing zeros", () => {
    expect(parseRate("1.0825")).toEqual({ numerator: 10825n, denominator: 10000n });
    expect(parseRate("0.0067")).toEqual({ numerator: 67n, denominator: 10000n });
    expect(parseRate("1.50")).toEqual({ numerator: 15n, denominator: 10n });
    expect(parseRate("007")).toEqual({ numerator: 7n, denominator: 1n });
    expect(parseRate("100")).toEqual({ numerator: 100n, denominator: 1n });
    expect(parseRate("2.000000000000")).toEqual({ numerator: 2n, denominator: 1n });
    expect(parseRate("0.000000000001")).toEqual({ numerator: 1n, denominator: 10n ** 12n });
    // 18 significant digits: more than a double holds (it would read 123456789012345680).
    expect(parseRate("123456.789012345678")).toEqual({ numerator: 123456789012345678n, denominator: 10n ** 12n });
    expect(parseRate("000000000000000123456789012345678")).toEqual({
      numerator: 123456789012345678n,
      denominator: 1n,
    });
  });

  it("normalizes: no trailing zeros after the point, no leading zeros but the one before it", () => {
    expect(normalizeRate("1.50")).toBe("1.5");
    expect(normalizeRate("0001.2500")).toBe("1.25");
    expect(normalizeRate("0.0067")).toBe("0.0067");
    expect(normalizeRate("00.5")).toBe("0.5");
    expect(normalizeRate("0.10")).toBe("0.1");
    expect(normalizeRate("100")).toBe("100");
    expect(normalizeRate("100.000")).toBe("100");
    expect(normalizeRate("1.0825")).toBe("1.0825");
  });

  it("refuses anything but a positive plain decimal within 12 decimals and 18 significant digits", () => {
    const invalid = [
      "",
      "0",
      "0.000",
      "-1",
      "+1",
      "-0.5",
      "1e3",
      "1E-3",
      ".5",
      "5.",
      " 1.5",
      "1.5 ",
      "1,5",
      "1 000",
      "1.2.3",
      "0x10",
      "Infinity",
      "NaN",
      "١٢",
      "１.５",
      "1.0000000000001",
      "1.5000000000000",
      "1234567890123456789",
      "12345678.90123456789",
    ];
    for (const text of invalid) {
      expect(parseRate(text), JSON.stringify(text)).toBeUndefined();
      expect(normalizeRate(text), JSON.stringify(text)).toBeUndefined();
    }
  });
});

describe("convertMinorUnits", () => {
  it("converts between currencies with 0, 2 and 3 decimals", () => {
    // 1980 JPY × 0.0067 = 13.266 USD
    expect(convertMinorUnits(1980, "JPY", "USD", "0.0067")).toBe(1327);
    // 12.345 KWD × 3.25 = 40.12125 USD
    expect(convertMinorUnits(12345, "KWD", "USD", "3.25")).toBe(4012);
    // 10.00 USD × 151.37 = 1513.7 JPY
    expect(convertMinorUnits(1000, "USD", "JPY", "151.37")).toBe(1514);
    // 19.99 USD × 0.307 = 6.13693 KWD
    expect(convertMinorUnits(1999, "USD", "KWD", "0.307")).toBe(6137);
    // 1000 JPY × 0.00203 = 2.030 KWD
    expect(convertMinorUnits(1000, "JPY", "KWD", "0.00203")).toBe(2030);
    // 2.500 KWD × 490.5 = 1226.25 JPY
    expect(convertMinorUnits(2500, "KWD", "JPY", "490.5")).toBe(1226);
    expect(convertMinorUnits(0, "JPY", "USD", "0.0067")).toBe(0);
  });

  it("rounds half up, once, at the end", () => {
    // 0.005 USD = 0.5 cents
    expect(convertMinorUnits(5, "JPY", "USD", "0.001")).toBe(1);
    expect(convertMinorUnits(15, "JPY", "USD", "0.001")).toBe(2);
    // 2.5 cents: half-even would give 2
    expect(convertMinorUnits(25, "JPY", "USD", "0.001")).toBe(3);
    expect(convertMinorUnits(49, "JPY", "USD", "0.0001")).toBe(0);
    expect(convertMinorUnits(50, "JPY", "USD", "0.0001")).toBe(1);
    // 0.4999999999 cents, 0.5 cents, 0.5000000001 cents
    expect(convertMinorUnits(4_999_999_999, "JPY", "USD", "0.000000000001")).toBe(0);
    expect(convertMinorUnits(5_000_000_000, "JPY", "USD", "0.000000000001")).toBe(1);
    // 1 fils × 500 = 0.5 JPY; 1 fils × 499.999 = 0.499999 JPY
    expect(convertMinorUnits(1, "KWD", "JPY", "500")).toBe(1);
    expect(convertMinorUnits(1, "KWD", "JPY", "499.999")).toBe(0);
  });

  it("stays exact when the intermediate products are far beyond 2^53", () => {
    // 9007199254740991 × 0.0067 = 60347235006764.6397 USD; floating point answers …463 cents.
    expect(convertMinorUnits(Number.MAX_SAFE_INTEGER, "JPY", "USD", "0.0067")).toBe(6034823500676464);
    // 1 KWD × 123456.789012345678 = 12345678.9012345678 cents.
    expect(convertMinorUnits(1000, "KWD", "USD", "123456.789012345678")).toBe(12345679);
    // 9007199254740991 × 0.999999999999 = 9007199254731983.800745259009
    expect(convertMinorUnits(Number.MAX_SAFE_INTEGER, "USD", "EUR", "0.999999999999")).toBe(9007199254731984);
  });

  it("refuses amounts that are not whole non-negative safe integers, unknown currencies, bad rates and overflow", () => {
    for (const amount of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -0.5]) {
      expect(() => convertMinorUnits(amount, "JPY", "USD", "0.0067"), String(amount)).toThrow(RangeError);
    }
    expect(() => convertMinorUnits(100, "usd", "EUR", "1")).toThrow(RangeError);
    expect(() => convertMinorUnits(100, "USD", "XYZ", "1")).toThrow(RangeError);
    for (const rate of ["0", "-1", "1e2", "abc", ""]) {
      expect(() => convertMinorUnits(100, "USD", "EUR", rate), rate).toThrow(RangeError);
    }
    expect(() => convertMinorUnits(Number.MAX_SAFE_INTEGER, "USD", "EUR", "1.000000000001")).toThrow(RangeError);
    expect(() => convertMinorUnits(Number.MAX_SAFE_INTEGER, "JPY", "USD", "1")).toThrow(RangeError);
  });
});

/** Requests as an API client makes them, and the rows a test compares before and after. */
function harness(t: () => TestApp) {
  function request(
    method: "GET" | "PUT" | "DELETE",
    key: string,
    url: string,
    payload?: object | string,
  ): Promise<Response> {
    return t().app.inject({
      method,
      url,
      headers: { ...bearer(key), ...(typeof payload === "string" ? { "content-type": "application/json" } : {}) },
      ...(payload === undefined ? {} : { payload }),
    });
  }

  const put = (key: string, currency: string, payload?: object | string) =>
    request("PUT", key, `/v1/exchange-rates/${currency}`, payload);
  const get = (key: string, currency: string) => request("GET", key, `/v1/exchange-rates/${currency}`);
  const list = (key: string) => request("GET", key, "/v1/exchange-rates");
  const remove = (key: string, currency: string) => request("DELETE", key, `/v1/exchange-rates/${currency}`);

  async function ok(response: Promise<Response>, status: number): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.json() as Json;
  }

  async function problem(response: Promise<Response>, status: number, code: string): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    expect(done.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const body = done.json() as Json;
    expect(body).toMatchObject({ type: `urn:laurel:problem:${code}`, status, code });
    return body;
  }

  function pointers(body: Json): string[] {
    return ((body.errors ?? []) as Array<{ pointer: string }>).map((error) => error.pointer).sort();
  }

  /** Everything these routes can change in one shop. */
  async function stateOf(shopId: string) {
    const db = t().database.db;
    return {
      rates: await db
        .selectFrom("exchange_rates")
        .selectAll()
        .where("shop_id", "=", shopId)
        .orderBy("currency")
        .execute(),
      outbox: await db
        .selectFrom("outbox")
        .select(["id", "type", "subject_type", "subject_id", "payload"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute(),
    };
  }

  async function events(shopId: string) {
    return (await stateOf(shopId)).outbox.map((row) => ({
      type: row.type,
      subject: `${row.subject_type}:${row.subject_id}`,
      data: (JSON.parse(row.payload) as { data: Json }).data,
    }));
  }

  return { put, get, list, remove, ok, problem, pointers, stateOf, events };
}

describeEachDialect("exchange rates API", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("creates (201), replaces (200), reads, lists by currency and deletes (204) rates, with an event each", async () => {
    const { shop, secretKey } = await createShop(t(), { baseCurrency: "EUR" });
    const created = await h.ok(h.put(secretKey, "JPY", { rate: "0.00610" }), 201);
    const createdAt = t().clock.now().toISOString();
    expect(created).toEqual({
      object: "exchange_rate",
      currency: "JPY",
      rate: "0.0061",
      created_at: createdAt,
      updated_at: createdAt,
    });

    t().clock.advance(minute);
    const replaced = await h.ok(h.put(secretKey, "JPY", { rate: "0.0062" }), 200);
    const replacedAt = t().clock.now().toISOString();
    expect(replaced).toEqual({
      object: "exchange_rate",
      currency: "JPY",
      rate: "0.0062",
      created_at: createdAt,
      updated_at: replacedAt,
    });
    await h.ok(h.put(secretKey, "KWD", { rate: "2.98320" }), 201);
    await h.ok(h.put(secretKey, "CHF", { rate: "001.0" }), 201);

    expect(await h.ok(h.get(secretKey, "JPY"), 200)).toEqual(replaced);
    const listed = await h.ok(h.list(secretKey), 200);
    expect(listed.object).toBe("list");
    expect(listed.base_currency).toBe("EUR");
    expect((listed.data as Json[]).map((rate) => [rate.currency, rate.rate])).toEqual([
      ["CHF", "1"],
      ["JPY", "0.0062"],
      ["KWD", "2.9832"],
    ]);
    expect((listed.data as Json[])[1]).toEqual(replaced);

    const deleted = await h.remove(secretKey, "JPY");
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect(deleted.body).toBe("");
    const missing = await h.problem(h.get(secretKey, "JPY"), 404, "exchange_rate_not_found");
    expect(missing.detail).toContain("JPY");
    await h.problem(h.remove(secretKey, "JPY"), 404, "exchange_rate_not_found");
    const after = await h.ok(h.list(secretKey), 200);
    expect((after.data as Json[]).map((rate) => rate.currency)).toEqual(["CHF", "KWD"]);

    const subject = `shop:${shop.id}`;
    expect(await h.events(shop.id)).toEqual([
      {
        type: "exchange_rate.updated",
        subject,
        data: {
          currency: "JPY",
          rate: "0.0061",
          previous_rate: null,
          base_currency: "EUR",
          created_at: createdAt,
          updated_at: createdAt,
        },
      },
      {
        type: "exchange_rate.updated",
        subject,
        data: {
          currency: "JPY",
          rate: "0.0062",
          previous_rate: "0.0061",
          base_currency: "EUR",
          created_at: createdAt,
          updated_at: replacedAt,
        },
      },
      expect.objectContaining({ type: "exchange_rate.updated", data: expect.objectContaining({ currency: "KWD" }) }),
      expect.objectContaining({ type: "exchange_rate.updated", data: expect.objectContaining({ currency: "CHF" }) }),
      {
        type: "exchange_rate.deleted",
        subject,
        data: { currency: "JPY", rate: "0.0062", base_currency: "EUR" },
      },
    ]);
  });

  it("answers a PUT of the rate already stored with 200 and writes nothing", async () => {
    const { shop, secretKey } = await createShop(t());
    const first = await h.ok(h.put(secretKey, "EUR", { rate: "1.5" }), 201);
    const before = await h.stateOf(shop.id);
    t().clock.advance(minute);
    expect(await h.ok(h.put(secretKey, "EUR", { rate: "1.50" }), 200)).toEqual(first);
    expect(await h.stateOf(shop.id)).toEqual(before);
  });

  it("serializes concurrent PUTs of one currency: one creates, each later one replaces the rate before it", async () => {
    const { shop, secretKey } = await createShop(t());
    const rates = ["0.91", "0.92", "0.93", "0.94", "0.95", "0.96"];
    const responses = await Promise.all(rates.map((rate) => h.put(secretKey, "EUR", { rate })));
    expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 201]);

    const { rates: rows } = await h.stateOf(shop.id);
    expect(rows).toHaveLength(1);
    const events = await h.events(shop.id);
    expect(events.map((event) => event.data.rate).sort()).toEqual(rates);
    // Ordered by outbox id (time, then random) the events may not be in commit order; as a chain
    // from null each previous_rate must name exactly one other event's rate, ending at the row.
    const previousOf = new Map(events.map((event) => [event.data.previous_rate, event.data.rate]));
    expect(previousOf.size).toBe(rates.length);
    let rate: unknown = null;
    for (let step = 0; step < rates.length; step += 1) rate = previousOf.get(rate);
    expect(rate).toBe(rows[0]?.rate);
  });

  it("refuses bad currencies and rates with problem+json and pointers, changing nothing", async () => {
    const { shop, secretKey } = await createShop(t(), { baseCurrency: "USD" });
    await h.ok(h.put(secretKey, "EUR", { rate: "0.92" }), 201);
    const before = await h.stateOf(shop.id);

    for (const currency of ["usd", "EU", "EURO", "XYZ", "USD"]) {
      const body = await h.problem(h.put(secretKey, currency, { rate: "1.1" }), 400, "validation_failed");
      expect(h.pointers(body), currency).toEqual(["/params/currency"]);
    }
    const own = await h.problem(h.put(secretKey, "USD", { rate: "1" }), 400, "validation_failed");
    expect(JSON.stringify(own.errors)).toContain("shop currency USD");

    const badRates = ["0", "-1.2", "+1", "1e3", "1,5", " 1.5", ".5", "1.0000000000001", "1234567890123456789", "x"];
    for (const rate of badRates) {
      const body = await h.problem(h.put(secretKey, "EUR", { rate }), 400, "validation_failed");
      expect(h.pointers(body), rate).toEqual(["/body/rate"]);
    }
    for (const rate of [1.08, null, ["1.08"], { value: "1.08" }, "", "1".repeat(41)]) {
      const body = await h.problem(h.put(secretKey, "EUR", { rate }), 400, "validation_failed");
      expect(h.pointers(body), JSON.stringify(rate)).toEqual(["/body/rate"]);
    }

    const both = await h.problem(h.put(secretKey, "XYZ", { rate: "-1" }), 400, "validation_failed");
    expect(h.pointers(both)).toEqual(["/body/rate", "/params/currency"]);
    const unknown = await h.problem(h.put(secretKey, "EUR", { rate: "1.1", note: "x" }), 400, "validation_failed");
    expect(h.pointers(unknown)).toEqual(["/body/note"]);
    const empty = await h.problem(h.put(secretKey, "EUR", {}), 400, "validation_failed");
    expect(h.pointers(empty)).toEqual(["/body/rate"]);
    await h.problem(h.put(secretKey, "EUR", '{"rate": '), 400, "malformed_json");
    await h.problem(h.put(secretKey, "EUR", "[]"), 400, "validation_failed");
    await h.problem(h.put(secretKey, "EUR"), 400, "validation_failed");

    for (const response of [h.get(secretKey, "eur"), h.get(secretKey, "XYZ"), h.remove(secretKey, "XYZ")]) {
      const body = await h.problem(response, 400, "validation_failed");
      expect(h.pointers(body)).toEqual(["/params/currency"]);
    }

    expect(await h.stateOf(shop.id)).toEqual(before);
    expect(await h.ok(h.get(secretKey, "EUR"), 200)).toMatchObject({ rate: "0.92" });
  });

  it("keeps each shop's rates to itself: another shop sees an empty list and 404s", async () => {
    const owner = await createShop(t(), { baseCurrency: "EUR" });
    const other = await createShop(t(), { baseCurrency: "GBP" });
    await h.ok(h.put(owner.secretKey, "JPY", { rate: "0.0061" }), 201);
    const ownerBefore = await h.stateOf(owner.shop.id);

    expect(await h.ok(h.list(other.secretKey), 200)).toEqual({ object: "list", base_currency: "GBP", data: [] });
    const read = await h.problem(h.get(other.secretKey, "JPY"), 404, "exchange_rate_not_found");
    expect(JSON.stringify(read)).not.toContain("0.0061");
    await h.problem(h.remove(other.secretKey, "JPY"), 404, "exchange_rate_not_found");

    // The other shop's PUT makes its own rate, leaving the owner's as it was.
    expect(await h.ok(h.put(other.secretKey, "JPY", { rate: "0.0052" }), 201)).toMatchObject({ rate: "0.0052" });
    expect(await h.stateOf(owner.shop.id)).toEqual(ownerBefore);
    expect(await h.ok(h.get(owner.secretKey, "JPY"), 200)).toMatchObject({ rate: "0.0061" });
    expect(await h.ok(h.get(other.secretKey, "JPY"), 200)).toMatchObject({ rate: "0.0052" });
  });

  it("documents all four operations as secret-key only, so the shared security test covers them", async () => {
    const document = (await t().app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, { security?: Array<Record<string, unknown>> }>>;
    };
    const operations = [
      ["/v1/exchange-rates", "get"],
      ["/v1/exchange-rates/{currency}", "get"],
      ["/v1/exchange-rates/{currency}", "put"],
      ["/v1/exchange-rates/{currency}", "delete"],
    ] as const;
    for (const [path, method] of operations) {
      expect(document.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([{ secretKey: [] }]);
    }
  });

  it("converts to the shop currency with the shop's own rates (convertToShopCurrency)", async () => {
    const euro = await createShop(t(), { baseCurrency: "EUR" });
    const other = await createShop(t(), { baseCurrency: "EUR" });
    await h.ok(h.put(euro.secretKey, "JPY", { rate: "0.0061" }), 201);
    await h.ok(h.put(euro.secretKey, "KWD", { rate: "2.9832" }), 201);
    await h.ok(h.put(other.secretKey, "GBP", { rate: "1.17" }), 201);
    const db = t().database.db;
    const convert = (shopId: string, amount: number, currency: string) =>
      convertToShopCurrency(db, shopId, "EUR", { amount, currency });

    // ¥1980 × 0.0061 = €12.078; 12.345 KWD × 2.9832 = €36.827604
    expect(await convert(euro.shop.id, 1980, "JPY")).toEqual({ amount: 1208, rate: "0.0061" });
    expect(await convert(euro.shop.id, 12345, "KWD")).toEqual({ amount: 3683, rate: "2.9832" });
    expect(await convert(euro.shop.id, 4999, "EUR")).toEqual({ amount: 4999, rate: null });
    expect(await convert(euro.shop.id, 1000, "GBP")).toBeNull();
    expect(await convert(other.shop.id, 1980, "JPY")).toBeNull();
    expect(await convert(other.shop.id, 1000, "GBP")).toEqual({ amount: 1170, rate: "1.17" });

    await h.ok(h.put(euro.secretKey, "JPY", { rate: "0.0062" }), 200);
    expect(await convert(euro.shop.id, 1980, "JPY")).toEqual({ amount: 1228, rate: "0.0062" });
    await h.remove(euro.secretKey, "JPY");
    expect(await convert(euro.shop.id, 1980, "JPY")).toBeNull();
  });
});
