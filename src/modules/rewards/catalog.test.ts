import type { LightMyRequestResponse } from "fastify";
import { expect, it } from "vitest";
import {
  bearer,
  createShop,
  describeEachDialect,
  type TestApp,
  type TestShop,
  useTestApp,
} from "../../../test/support/app.js";
import { apiCalls, type Json } from "../../../test/support/http.js";

const minute = 60 * 1000;
const day = 24 * 60 * minute;

const usd = (amount: number) => ({ amount, currency: "USD" });
const cad = (amount: number) => ({ amount, currency: "CAD" });

/** The smallest valid reward: $5 off for 500 points. */
function fiveOff(extra: Json = {}): Json {
  return {
    type: "amount_off",
    name: { en: "$5 off" },
    value: { amounts: [usd(500)] },
    cost: { type: "fixed", points: 500 },
    ...extra,
  };
}

function harness(t: () => TestApp) {
  const { send, ok, problem } = apiCalls(t);
  /** A 400 validation_failed; its pointers, sorted, each once (a union reports one per branch). */
  async function invalid(response: Promise<LightMyRequestResponse>): Promise<string[]> {
    const body = await problem(response, 400, "validation_failed");
    expect(Array.isArray(body.errors), JSON.stringify(body)).toBe(true);
    for (const error of body.errors as Json[]) expect(typeof error.message).toBe("string");
    return [...new Set((body.errors as Json[]).map((error) => error.pointer as string))].sort();
  }
  const create = (shop: TestShop, body: Json) => ok(send("POST", shop.secretKey, "/v1/rewards", body), 201);
  const get = (shop: TestShop, id: string) => ok(send("GET", shop.secretKey, `/v1/rewards/${id}`), 200);
  const list = (shop: TestShop, query = "") => ok(send("GET", shop.secretKey, `/v1/rewards${query}`), 200);
  const now = () => t().clock.now().toISOString();
  async function rewardRows(shop: TestShop): Promise<number> {
    const rows = await t().database.db.selectFrom("rewards").select("id").where("shop_id", "=", shop.shop.id).execute();
    return rows.length;
  }
  return { send, ok, problem, invalid, create, get, list, now, rewardRows };
}

describeEachDialect("rewards catalog API", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("creates an amount_off reward with every setting and reads it back", async () => {
    const shop = await createShop(t());
    const startsAt = new Date(t().clock.now().getTime() + day).toISOString();
    const endsAt = new Date(t().clock.now().getTime() + 30 * day).toISOString();
    const created = await h.create(shop, {
      type: "amount_off",
      name: { en: "$5 off", "fr-ca": "5 $ de rabais" },
      description: { en: "Five dollars off your next order" },
      image_url: "https://cdn.example.com/five.png",
      value: { amounts: [usd(500), cad(700)] },
      cost: { type: "fixed", points: 500 },
      min_order: [usd(2500), cad(3000)],
      eligibility: { tiers: ["silver", "gold"], first_redemption_only: true },
      per_member_limit: 3,
      stock: 100,
      starts_at: startsAt,
      ends_at: endsAt,
      code: { prefix: "LAUREL-", expires_in_days: 60 },
    });
    expect(created.id).toMatch(/^[a-z]+_[0-9A-Z]{26}$/);
    expect(created).toEqual({
      object: "reward",
      id: created.id,
      status: "active",
      type: "amount_off",
      version: 1,
      // Locale tags are kept in their canonical spelling.
      name: { en: "$5 off", "fr-CA": "5 $ de rabais" },
      description: { en: "Five dollars off your next order" },
      image_url: "https://cdn.example.com/five.png",
      value: { amounts: [usd(500), cad(700)] },
      cost: { type: "fixed", points: 500 },
      min_order: [usd(2500), cad(3000)],
      eligibility: { tiers: ["silver", "gold"], first_redemption_only: true },
      per_member_limit: 3,
      stock: { total: 100, remaining: 100 },
      redeemed: 0,
      starts_at: startsAt,
      ends_at: endsAt,
      code: { prefix: "LAUREL-", expires_in_days: 60 },
      created_at: h.now(),
      updated_at: h.now(),
    });
    expect(await h.get(shop, created.id)).toEqual(created);
  });

  it("fills in the defaults of a minimal reward", async () => {
    const shop = await createShop(t());
    const created = await h.create(shop, fiveOff());
    expect(created).toMatchObject({
      status: "active",
      version: 1,
      description: {},
      image_url: null,
      min_order: [],
      eligibility: { tiers: null, first_redemption_only: false },
      per_member_limit: null,
      stock: null,
      redeemed: 0,
      starts_at: null,
      ends_at: null,
      code: { prefix: "", expires_in_days: 90 },
    });
    const disabled = await h.create(shop, fiveOff({ enabled: false, code: { expires_in_days: null } }));
    expect(disabled).toMatchObject({ status: "disabled", code: { prefix: "", expires_in_days: null } });
    // Timestamps with an offset are stored in UTC.
    const window = await h.create(
      shop,
      fiveOff({ starts_at: "2026-04-01T02:00:00+02:00", ends_at: "2026-05-01T00:00:00.000Z" }),
    );
    expect(window).toMatchObject({ starts_at: "2026-04-01T00:00:00.000Z", ends_at: "2026-05-01T00:00:00.000Z" });
  });

  it("creates each type of reward with the value fields it takes", async () => {
    const shop = await createShop(t());
    const percent = await h.create(shop, {
      type: "percent_off",
      name: { en: "15% off" },
      value: { percent: 15, max_amounts: [usd(2000), { amount: 3000, currency: "JPY" }] },
      cost: { type: "fixed", points: 800 },
    });
    expect(percent).toMatchObject({
      type: "percent_off",
      value: { percent: 15, max_amounts: [usd(2000), { amount: 3000, currency: "JPY" }] },
    });
    const uncapped = await h.create(shop, {
      type: "percent_off",
      name: { en: "10% off" },
      value: { percent: 10 },
      cost: { type: "fixed", points: 400 },
    });
    expect(uncapped.value).toEqual({ percent: 10, max_amounts: [] });

    const shipping = await h.create(shop, {
      type: "free_shipping",
      name: { en: "Free shipping" },
      value: { max_amounts: [usd(1500)] },
      cost: { type: "fixed", points: 300 },
    });
    expect(shipping).toMatchObject({ type: "free_shipping", value: { max_amounts: [usd(1500)] } });
    const anyShipping = await h.create(shop, {
      type: "free_shipping",
      name: { en: "Free shipping" },
      value: {},
      cost: { type: "fixed", points: 300 },
    });
    expect(anyShipping.value).toEqual({ max_amounts: [] });

    const product = await h.create(shop, {
      type: "free_product",
      name: { en: "A free mug" },
      value: { variant_id: "gid://shopify/ProductVariant/42", product_id: "gid://shopify/Product/7" },
      cost: { type: "fixed", points: 1200 },
    });
    expect(product.value).toEqual({
      variant_id: "gid://shopify/ProductVariant/42",
      product_id: "gid://shopify/Product/7",
    });
    const variantOnly = await h.create(shop, {
      type: "free_product",
      name: { en: "A free pin" },
      value: { variant_id: "sku-pin" },
      cost: { type: "fixed", points: 100 },
    });
    expect(variantOnly.value).toEqual({ variant_id: "sku-pin", product_id: null });

    const credit = await h.create(shop, {
      type: "store_credit",
      name: { en: "$10 store credit" },
      value: { amounts: [usd(1000)] },
      cost: { type: "fixed", points: 1000 },
    });
    expect(credit).toMatchObject({ type: "store_credit", value: { amounts: [usd(1000)] } });

    const custom = await h.create(shop, {
      type: "custom",
      name: { en: "Meet the founder" },
      value: { instructions: "Book a call with the member within a week" },
      cost: { type: "fixed", points: 5000 },
    });
    expect(custom).toMatchObject({
      type: "custom",
      value: { instructions: "Book a call with the member within a week" },
    });

    const listed = await h.list(shop, "?limit=100");
    expect(listed.data.map((reward: Json) => reward.id).sort()).toEqual(
      [percent, uncapped, shipping, anyShipping, product, variantOnly, credit, custom].map((r) => r.id).sort(),
    );
  });

  it('takes a variable cost ("100 points = $1") between a minimum and a maximum, in steps', async () => {
    const shop = await createShop(t());
    const variable = await h.create(shop, {
      type: "amount_off",
      name: { en: "Points off" },
      value: {},
      cost: {
        type: "variable",
        points_per_unit: 100,
        unit: usd(100),
        min_points: 500,
        max_points: 10000,
        step_points: 500,
      },
    });
    expect(variable.value).toEqual({ amounts: [] });
    expect(variable.cost).toEqual({
      type: "variable",
      points_per_unit: 100,
      unit: usd(100),
      min_points: 500,
      max_points: 10000,
      step_points: 500,
    });
    // The step defaults to points_per_unit.
    const defaultStep = await h.create(shop, {
      type: "store_credit",
      name: { en: "Points to credit" },
      value: { amounts: [] },
      cost: { type: "variable", points_per_unit: 100, unit: usd(100), min_points: 100, max_points: 5000 },
    });
    expect(defaultStep.cost).toMatchObject({ step_points: 100, min_points: 100, max_points: 5000 });
    // A single price point is a valid range.
    const single = await h.create(shop, {
      type: "amount_off",
      name: { en: "Exactly 250" },
      value: {},
      cost: { type: "variable", points_per_unit: 250, unit: usd(100), min_points: 250, max_points: 250 },
    });
    expect(single.cost).toMatchObject({ min_points: 250, max_points: 250, step_points: 250 });
  });

  it("lists rewards newest first, a page at a time, without archived ones unless asked", async () => {
    const shop = await createShop(t());
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      ids.push((await h.create(shop, fiveOff({ name: { en: `Reward ${index}` } }))).id);
      t().clock.advance(minute);
    }
    const newestFirst = [...ids].reverse();
    const first = await h.list(shop, "?limit=2");
    expect(first.data.map((reward: Json) => reward.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.has_more).toBe(true);
    const second = await h.list(shop, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.data.map((reward: Json) => reward.id)).toEqual(newestFirst.slice(2, 4));
    const third = await h.list(shop, `?limit=2&cursor=${second.next_cursor}`);
    expect(third).toMatchObject({ has_more: false, next_cursor: null });
    expect(third.data.map((reward: Json) => reward.id)).toEqual(newestFirst.slice(4));
    expect((await h.list(shop)).data).toHaveLength(5);

    await h.ok(h.send("POST", shop.secretKey, `/v1/rewards/${ids[1]}/disable`), 200);
    await h.ok(h.send("DELETE", shop.secretKey, `/v1/rewards/${ids[2]}`), 200);
    const visible = await h.list(shop);
    expect(visible.data.map((reward: Json) => reward.id)).toEqual([ids[4], ids[3], ids[1], ids[0]]);
    expect((await h.list(shop, "?status=disabled")).data.map((reward: Json) => reward.id)).toEqual([ids[1]]);
    expect((await h.list(shop, "?status=archived")).data.map((reward: Json) => reward.id)).toEqual([ids[2]]);
    expect((await h.list(shop, "?status=active")).data.map((reward: Json) => reward.id)).toEqual([
      ids[4],
      ids[3],
      ids[0],
    ]);

    expect(await h.invalid(h.send("GET", shop.secretKey, "/v1/rewards?status=deleted"))).toEqual([
      "/querystring/status",
    ]);
    expect(await h.invalid(h.send("GET", shop.secretKey, "/v1/rewards?limit=0"))).toEqual(["/querystring/limit"]);
    expect(await h.invalid(h.send("GET", shop.secretKey, "/v1/rewards?limit=101"))).toEqual(["/querystring/limit"]);
    expect(await h.invalid(h.send("GET", shop.secretKey, "/v1/rewards?colour=red"))).toEqual(["/querystring/colour"]);
    await h.problem(h.send("GET", shop.secretKey, "/v1/rewards?cursor=bm90LWEtY3Vyc29y"), 400, "invalid_cursor");
  });

  it("replaces a reward as a new version with PUT", async () => {
    const shop = await createShop(t());
    const created = await h.create(shop, fiveOff({ stock: 10, per_member_limit: 2, code: { prefix: "A-" } }));
    t().clock.advance(5 * minute);
    const replaced = await h.ok(
      h.send("PUT", shop.secretKey, `/v1/rewards/${created.id}`, {
        type: "percent_off",
        name: { en: "20% off" },
        value: { percent: 20, max_amounts: [usd(5000)] },
        cost: { type: "fixed", points: 900 },
      }),
      200,
    );
    expect(replaced).toMatchObject({
      id: created.id,
      status: "active",
      type: "percent_off",
      version: 2,
      name: { en: "20% off" },
      value: { percent: 20, max_amounts: [usd(5000)] },
      cost: { type: "fixed", points: 900 },
      // The whole definition is replaced: what was left out takes its default again...
      per_member_limit: null,
      code: { prefix: "", expires_in_days: 90 },
      // ...but stock left out stays as it was.
      stock: { total: 10, remaining: 10 },
      created_at: created.created_at,
      updated_at: h.now(),
    });
    expect(await h.get(shop, created.id)).toEqual(replaced);

    t().clock.advance(minute);
    const restocked = await h.ok(
      h.send("PUT", shop.secretKey, `/v1/rewards/${created.id}`, fiveOff({ stock: 3, enabled: false })),
      200,
    );
    expect(restocked).toMatchObject({ version: 3, status: "disabled", stock: { total: 3, remaining: 3 } });
    const unlimited = await h.ok(
      h.send("PUT", shop.secretKey, `/v1/rewards/${created.id}`, fiveOff({ stock: null })),
      200,
    );
    // enabled left out keeps the status.
    expect(unlimited).toMatchObject({ version: 4, status: "disabled", stock: null });

    // A bad definition changes nothing.
    const before = await h.get(shop, created.id);
    expect(
      await h.invalid(
        h.send("PUT", shop.secretKey, `/v1/rewards/${created.id}`, fiveOff({ value: { amounts: [usd(0)] } })),
      ),
    ).toEqual(["/body/value/amounts"]);
    expect(await h.get(shop, created.id)).toEqual(before);

    await h.problem(
      h.send("PUT", shop.secretKey, "/v1/rewards/rwd_01JD8X3M6Q2W9V4T7R5Y1K0ZAB", fiveOff()),
      404,
      "reward_not_found",
    );
  });

  it("disables, enables and archives a reward; an archived one stays archived", async () => {
    const shop = await createShop(t());
    const created = await h.create(shop, fiveOff());
    t().clock.advance(minute);
    const disabled = await h.ok(h.send("POST", shop.secretKey, `/v1/rewards/${created.id}/disable`), 200);
    expect(disabled).toMatchObject({ status: "disabled", version: 1, updated_at: h.now() });
    expect(await h.ok(h.send("POST", shop.secretKey, `/v1/rewards/${created.id}/disable`), 200)).toMatchObject({
      status: "disabled",
    });
    t().clock.advance(minute);
    const enabled = await h.ok(h.send("POST", shop.secretKey, `/v1/rewards/${created.id}/enable`), 200);
    expect(enabled).toMatchObject({ status: "active", updated_at: h.now() });

    const archived = await h.ok(h.send("DELETE", shop.secretKey, `/v1/rewards/${created.id}`), 200);
    expect(archived).toMatchObject({ status: "archived", id: created.id });
    // Still readable by id, gone from the default list.
    expect(await h.get(shop, created.id)).toEqual(archived);
    expect((await h.list(shop)).data).toEqual([]);
    // Archiving twice changes nothing; enabling, disabling or replacing it is refused.
    expect(await h.ok(h.send("DELETE", shop.secretKey, `/v1/rewards/${created.id}`), 200)).toMatchObject({
      status: "archived",
    });
    await h.problem(h.send("POST", shop.secretKey, `/v1/rewards/${created.id}/enable`), 409, "reward_unavailable");
    await h.problem(h.send("POST", shop.secretKey, `/v1/rewards/${created.id}/disable`), 409, "reward_unavailable");
    await h.problem(h.send("PUT", shop.secretKey, `/v1/rewards/${created.id}`, fiveOff()), 409, "reward_unavailable");
    expect(await h.get(shop, created.id)).toMatchObject({ status: "archived", version: 1 });

    const missing = "rwd_01JD8X3M6Q2W9V4T7R5Y1K0ZAB";
    for (const [method, url] of [
      ["GET", `/v1/rewards/${missing}`],
      ["POST", `/v1/rewards/${missing}/enable`],
      ["POST", `/v1/rewards/${missing}/disable`],
      ["DELETE", `/v1/rewards/${missing}`],
    ] as const) {
      await h.problem(h.send(method, shop.secretKey, url), 404, "reward_not_found");
    }
  });

  it("refuses each invalid reward with the pointers of what is wrong, and creates nothing", async () => {
    const shop = await createShop(t());
    const variable = (extra: Json = {}) => ({
      type: "variable",
      points_per_unit: 100,
      unit: usd(100),
      min_points: 500,
      max_points: 5000,
      ...extra,
    });
    const percentOff = (value: Json) => ({
      type: "percent_off",
      name: { en: "% off" },
      value,
      cost: { type: "fixed", points: 100 },
    });
    const costBranches = [
      "/body/cost",
      "/body/cost/max_points",
      "/body/cost/min_points",
      "/body/cost/points",
      "/body/cost/points_per_unit",
      "/body/cost/type",
      "/body/cost/unit",
    ];
    const later = new Date(t().clock.now().getTime() + day).toISOString();
    const cases: Array<[string, unknown, string[]]> = [
      ["no fields", {}, ["/body/cost", "/body/name", "/body/type", "/body/value"]],
      ["an unknown type", fiveOff({ type: "gift_card" }), ["/body/type"]],
      ["an unknown field", fiveOff({ colour: "red" }), ["/body/colour"]],
      ["an unknown value field", fiveOff({ value: { amounts: [usd(500)], bonus: 1 } }), ["/body/value/bonus"]],
      // Value fields that do not apply to the type.
      ["percent on amount_off", fiveOff({ value: { amounts: [usd(500)], percent: 10 } }), ["/body/value/percent"]],
      ["amounts on percent_off", percentOff({ percent: 10, amounts: [usd(100)] }), ["/body/value/amounts"]],
      [
        "variant_id on free_shipping",
        { type: "free_shipping", name: { en: "x" }, value: { variant_id: "v1" }, cost: { type: "fixed", points: 1 } },
        ["/body/value/variant_id"],
      ],
      [
        "instructions on free_product",
        {
          type: "free_product",
          name: { en: "x" },
          value: { variant_id: "v1", instructions: "hand it over" },
          cost: { type: "fixed", points: 1 },
        },
        ["/body/value/instructions"],
      ],
      [
        "amounts on custom",
        {
          type: "custom",
          name: { en: "x" },
          value: { instructions: "call", amounts: [usd(1)] },
          cost: { type: "fixed", points: 1 },
        },
        ["/body/value/amounts"],
      ],
      [
        "max_amounts on store_credit",
        {
          type: "store_credit",
          name: { en: "x" },
          value: { amounts: [usd(100)], max_amounts: [usd(100)] },
          cost: { type: "fixed", points: 1 },
        },
        ["/body/value/max_amounts"],
      ],
      // Required value fields left out.
      ["percent_off without percent", percentOff({ max_amounts: [usd(100)] }), ["/body/value/percent"]],
      [
        "free_product without variant_id",
        { type: "free_product", name: { en: "x" }, value: { product_id: "p1" }, cost: { type: "fixed", points: 1 } },
        ["/body/value/variant_id"],
      ],
      [
        "custom without instructions",
        { type: "custom", name: { en: "x" }, value: {}, cost: { type: "fixed", points: 1 } },
        ["/body/value/instructions"],
      ],
      ["amount_off at a fixed cost without amounts", fiveOff({ value: {} }), ["/body/value/amounts"]],
      ["amount_off with an empty list", fiveOff({ value: { amounts: [] } }), ["/body/value/amounts"]],
      [
        "store_credit at a fixed cost without amounts",
        { type: "store_credit", name: { en: "x" }, value: { amounts: [] }, cost: { type: "fixed", points: 1 } },
        ["/body/value/amounts"],
      ],
      // Amounts.
      ["a zero amount", fiveOff({ value: { amounts: [usd(0)] } }), ["/body/value/amounts"]],
      ["a negative amount", fiveOff({ value: { amounts: [usd(-5)] } }), ["/body/value/amounts/0/amount"]],
      ["a fractional amount", fiveOff({ value: { amounts: [usd(4.99)] } }), ["/body/value/amounts/0/amount"]],
      [
        "an amount as text",
        fiveOff({ value: { amounts: [{ amount: "500", currency: "USD" }] } }),
        ["/body/value/amounts/0/amount"],
      ],
      [
        "a lowercase currency",
        fiveOff({ value: { amounts: [{ amount: 500, currency: "usd" }] } }),
        ["/body/value/amounts/0/currency"],
      ],
      [
        "a currency that does not exist",
        fiveOff({ value: { amounts: [{ amount: 500, currency: "ZZZ" }] } }),
        ["/body/value/amounts/0/currency"],
      ],
      [
        "a currency named twice",
        fiveOff({ value: { amounts: [usd(500), cad(700), usd(600)] } }),
        ["/body/value/amounts/2/currency"],
      ],
      [
        "store credit in another currency than the shop's",
        { type: "store_credit", name: { en: "x" }, value: { amounts: [cad(100)] }, cost: { type: "fixed", points: 1 } },
        ["/body/value/amounts"],
      ],
      ["a percent of 0", percentOff({ percent: 0 }), ["/body/value/percent"]],
      ["a percent over 100", percentOff({ percent: 101 }), ["/body/value/percent"]],
      ["a fractional percent", percentOff({ percent: 12.5 }), ["/body/value/percent"]],
      ["a percent as text", percentOff({ percent: "10" }), ["/body/value/percent"]],
      [
        "a maximum repeated",
        percentOff({ percent: 10, max_amounts: [usd(1), usd(2)] }),
        ["/body/value/max_amounts/1/currency"],
      ],
      ["a maximum of zero", percentOff({ percent: 10, max_amounts: [usd(0)] }), ["/body/value/max_amounts"]],
      ["a minimum order repeated", fiveOff({ min_order: [usd(1000), usd(2000)] }), ["/body/min_order/1/currency"]],
      [
        "a minimum order in a currency that does not exist",
        fiveOff({ min_order: [{ amount: 1000, currency: "ABC" }] }),
        ["/body/min_order/0/currency"],
      ],
      // Windows.
      ["ends_at before starts_at", fiveOff({ starts_at: later, ends_at: h.now() }), ["/body/ends_at"]],
      ["ends_at equal to starts_at", fiveOff({ starts_at: later, ends_at: later }), ["/body/ends_at"]],
      ["starts_at not a timestamp", fiveOff({ starts_at: "next tuesday" }), ["/body/starts_at"]],
      // Costs.
      [
        "a fixed cost of zero points",
        fiveOff({ cost: { type: "fixed", points: 0 } }),
        // A union names what each of its branches missed.
        costBranches,
      ],
      ["an unknown cost type", fiveOff({ cost: { type: "free" } }), costBranches],
      [
        "amounts with a variable cost",
        fiveOff({ value: { amounts: [usd(500)] }, cost: variable() }),
        ["/body/value/amounts"],
      ],
      ["a variable cost on percent_off", { ...percentOff({ percent: 10 }), cost: variable() }, ["/body/cost/type"]],
      [
        "a variable cost on free_product",
        { type: "free_product", name: { en: "x" }, value: { variant_id: "v" }, cost: variable() },
        ["/body/cost/type"],
      ],
      [
        "a minimum above the maximum",
        fiveOff({ value: {}, cost: variable({ min_points: 6000, max_points: 5000 }) }),
        ["/body/cost/min_points"],
      ],
      [
        "a step that does not divide the bounds",
        fiveOff({ value: {}, cost: variable({ step_points: 300 }) }),
        ["/body/cost/step_points"],
      ],
      [
        "bounds that are not whole units when the step defaults to points_per_unit",
        fiveOff({ value: {}, cost: variable({ min_points: 150 }) }),
        ["/body/cost/step_points"],
      ],
      [
        "a minimum that buys less than a cent",
        fiveOff({
          value: {},
          cost: variable({ points_per_unit: 1000, unit: usd(1), min_points: 100, max_points: 5000, step_points: 100 }),
        }),
        ["/body/cost/min_points"],
      ],
      ["a unit worth nothing", fiveOff({ value: {}, cost: variable({ unit: usd(0) }) }), ["/body/cost/unit/amount"]],
      [
        "a unit in a currency that does not exist",
        fiveOff({ value: {}, cost: variable({ unit: { amount: 100, currency: "ZZZ" } }) }),
        ["/body/cost/unit/currency"],
      ],
      [
        "variable store credit in another currency",
        { type: "store_credit", name: { en: "x" }, value: { amounts: [] }, cost: variable({ unit: cad(100) }) },
        ["/body/cost/unit/currency"],
      ],
      // Names, codes, limits.
      ["no name", fiveOff({ name: {} }), ["/body/name"]],
      ["an empty name", fiveOff({ name: { en: "" } }), ["/body/name/en"]],
      ["a locale tag that is not one", fiveOff({ name: { "en-a1": "x" } }), ["/body/name/en-a1"]],
      ["a description under a bad tag", fiveOff({ description: { "en-QQQ": "x" } }), ["/body/description/en-QQQ"]],
      ["a lowercase code prefix", fiveOff({ code: { prefix: "vip-" } }), ["/body/code/prefix"]],
      ["a code prefix too long", fiveOff({ code: { prefix: "A".repeat(21) } }), ["/body/code/prefix"]],
      ["codes expiring after 0 days", fiveOff({ code: { expires_in_days: 0 } }), ["/body/code/expires_in_days"]],
      ["a per-member limit of 0", fiveOff({ per_member_limit: 0 }), ["/body/per_member_limit"]],
      ["negative stock", fiveOff({ stock: -1 }), ["/body/stock"]],
      ["fractional stock", fiveOff({ stock: 1.5 }), ["/body/stock"]],
      ["an image URL that is not one", fiveOff({ image_url: "not a url" }), ["/body/image_url"]],
      ["no tiers listed", fiveOff({ eligibility: { tiers: [] } }), ["/body/eligibility/tiers"]],
      [
        "a tier key in capitals",
        fiveOff({ eligibility: { tiers: ["Gold"] } }),
        ["/body/eligibility/tiers", "/body/eligibility/tiers/0"],
      ],
      [
        "first_redemption_only as text",
        fiveOff({ eligibility: { first_redemption_only: "yes" } }),
        ["/body/eligibility/first_redemption_only"],
      ],
      ["enabled as text", fiveOff({ enabled: "true" }), ["/body/enabled"]],
    ];
    // Every case is sent before any is checked, so one report shows every mismatch.
    const answers: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [label, body, pointers] of cases) {
      const response = await h.send("POST", shop.secretKey, "/v1/rewards", body);
      const answer = response.json() as Json;
      answers[label] =
        response.statusCode === 400 && answer.code === "validation_failed"
          ? [...new Set((answer.errors as Json[]).map((error) => error.pointer as string))].sort()
          : `${response.statusCode} ${response.body}`;
      expected[label] = pointers;
    }
    expect(answers).toEqual(expected);
    // And each is a well-formed problem.
    for (const [label, body] of cases.slice(0, 5)) {
      expect((await h.invalid(h.send("POST", shop.secretKey, "/v1/rewards", body))).length, label).toBeGreaterThan(0);
    }

    for (const payload of ["[]", "42", "null"]) {
      await h.problem(
        t().app.inject({
          method: "POST",
          url: "/v1/rewards",
          headers: { ...bearer(shop.secretKey), "content-type": "application/json" },
          payload,
        }),
        400,
        "validation_failed",
      );
    }
    await h.problem(
      t().app.inject({
        method: "POST",
        url: "/v1/rewards",
        headers: { ...bearer(shop.secretKey), "content-type": "application/json" },
        payload: '{"type": "amount_off", "name": ',
      }),
      400,
      "malformed_json",
    );
    await h.problem(
      t().app.inject({
        method: "POST",
        url: "/v1/rewards",
        headers: { ...bearer(shop.secretKey), "content-type": "text/plain" },
        payload: "five dollars off",
      }),
      415,
      "unsupported_media_type",
    );
    await h.problem(
      h.send("POST", shop.secretKey, "/v1/rewards", fiveOff({ description: { en: "x".repeat(2_000_000) } })),
      413,
      "payload_too_large",
    );

    expect(await h.list(shop, "?limit=100")).toEqual({ data: [], has_more: false, next_cursor: null });
    for (const status of ["disabled", "archived"]) {
      expect((await h.list(shop, `?status=${status}`)).data).toEqual([]);
    }
    expect(await h.rewardRows(shop)).toBe(0);
  });
});
