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
import { addMonths } from "../../platform/clock.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field; expect() checks them.
type Json = Record<string, any>;
type Method = "GET" | "POST" | "PUT";

const minute = 60 * 1000;
const day = 24 * 60 * minute;

const tenPerDollar = {
  name: "10 points per $1",
  event_type: "order.paid",
  reward: { type: "per_currency_unit", points: 10, per: { amount: 100, currency: "USD" } },
};

/** What every tier gives when its benefits are left out. */
const defaultBenefits = {
  points_multiplier: null,
  discount_percent: null,
  free_shipping: false,
  priority_shipping: false,
  early_access_hours: null,
  birthday_gift: null,
  exclusive_support: false,
  custom: {},
};

const usd = (amount: number) => ({ amount, currency: "USD" });

/** Member (base), Silver at $100 or 3 orders, Gold at $1,500 or 10 orders. */
function threeTiers(extra: Json = {}): Json {
  return {
    tiers: [
      { key: "member", name: { en: "Member" } },
      {
        key: "silver",
        name: { en: "Silver" },
        thresholds: { spend: usd(10000), orders: 3 },
        benefits: { free_shipping: true },
      },
      {
        key: "gold",
        name: { en: "Gold", fr: "Or" },
        thresholds: { spend: usd(150000), orders: 10 },
        benefits: { discount_percent: 10, points_multiplier: { numerator: 3, denominator: 2 } },
        entry_reward: { points: 500 },
      },
    ],
    ...extra,
  };
}

function harness(t: () => TestApp) {
  function send(
    method: Method,
    key: string,
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return t().app.inject({
      method,
      url,
      headers: { ...bearer(key), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }
  async function ok(response: Promise<LightMyRequestResponse>, status: number): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.body === "" ? {} : (done.json() as Json);
  }
  /** A problem+json answer with the status and code. */
  async function problem(response: Promise<LightMyRequestResponse>, status: number, code: string): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    expect(done.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const body = done.json() as Json;
    expect(body).toMatchObject({ type: `urn:laurel:problem:${code}`, status, code });
    return body;
  }
  /** A 400 validation_failed; returns its pointers, sorted, each once (a union reports one per branch). */
  async function invalid(response: Promise<LightMyRequestResponse>): Promise<string[]> {
    const body = await problem(response, 400, "validation_failed");
    return [...new Set((body.errors as Json[]).map((error) => error.pointer as string))].sort();
  }
  const putProgram = (shop: TestShop, body: Json, status: number) =>
    ok(send("PUT", shop.secretKey, "/v1/tiers", body), status);
  const member = async (shop: TestShop, body: Json = {}) =>
    (await ok(send("POST", shop.secretKey, "/v1/members", body), 201)).id as string;
  const rule = (shop: TestShop, body: Json) => ok(send("POST", shop.secretKey, "/v1/rules", body), 201);
  const order = (shop: TestShop, memberId: string, id: string, total: number) =>
    ok(
      send("POST", shop.secretKey, "/v1/events", {
        type: "order.paid",
        external_id: `order-${id}-paid`,
        member_id: memberId,
        order: { id, currency: "USD", total },
      }),
      201,
    );
  const progress = (shop: TestShop, memberId: string, query = "") =>
    ok(send("GET", shop.secretKey, `/v1/members/${memberId}/tier${query}`), 200);
  const assign = (shop: TestShop, memberId: string, body: Json, status = 200) =>
    ok(send("PUT", shop.secretKey, `/v1/members/${memberId}/tier`, body), status);
  const history = (shop: TestShop, memberId: string, query = "") =>
    ok(send("GET", shop.secretKey, `/v1/members/${memberId}/tier/history${query}`), 200);
  const now = () => t().clock.now().toISOString();

  async function counts() {
    const db = t().database.db;
    const count = async (
      table:
        | "member_tiers"
        | "tier_changes"
        | "tier_programs"
        | "tier_program_versions"
        | "outbox"
        | "ledger_transactions",
    ) =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      memberTiers: await count("member_tiers"),
      changes: await count("tier_changes"),
      programs: await count("tier_programs"),
      versions: await count("tier_program_versions"),
      outbox: await count("outbox"),
      transactions: await count("ledger_transactions"),
    };
  }

  async function outbox(shop: TestShop, type: string) {
    const rows = await t()
      .database.db.selectFrom("outbox")
      .selectAll()
      .where("shop_id", "=", shop.shop.id)
      .where("type", "=", type)
      .orderBy("id")
      .execute();
    return rows.map((row) => ({ ...row, payload: JSON.parse(row.payload) as Json }));
  }

  return {
    send,
    ok,
    problem,
    invalid,
    putProgram,
    member,
    rule,
    order,
    progress,
    assign,
    history,
    now,
    counts,
    outbox,
  };
}

describeEachDialect("tiers API", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("creates the program with its defaults, replaces it as a new version, and lists the versions", async () => {
    const shop = await createShop(t());
    await h.problem(h.send("GET", shop.secretKey, "/v1/tiers"), 404, "tier_program_not_found");
    expect(await h.ok(h.send("GET", shop.secretKey, "/v1/tiers/versions"), 200)).toEqual({ data: [] });

    const createdAt = h.now();
    const created = await h.putProgram(shop, threeTiers(), 201);
    const expectedV1 = {
      object: "tier_program",
      version: 1,
      combine: "any",
      window: { type: "rolling_months", months: 12 },
      min_membership_days: 0,
      grace_days: 30,
      max_downgrade_steps: 1,
      tiers: [
        {
          key: "member",
          name: { en: "Member" },
          position: 0,
          thresholds: {},
          benefits: defaultBenefits,
          entry_reward: null,
        },
        {
          key: "silver",
          name: { en: "Silver" },
          position: 1,
          thresholds: { spend: usd(10000), orders: 3 },
          benefits: { ...defaultBenefits, free_shipping: true },
          entry_reward: null,
        },
        {
          key: "gold",
          name: { en: "Gold", fr: "Or" },
          position: 2,
          thresholds: { spend: usd(150000), orders: 10 },
          benefits: { ...defaultBenefits, discount_percent: 10, points_multiplier: { numerator: 3, denominator: 2 } },
          entry_reward: { points: 500 },
        },
      ],
      created_at: createdAt,
      updated_at: createdAt,
    };
    expect(created).toEqual(expectedV1);
    expect(await h.ok(h.send("GET", shop.secretKey, "/v1/tiers"), 200)).toEqual(expectedV1);

    t().clock.advance(5 * minute);
    const replacedAt = h.now();
    const replaced = await h.putProgram(
      shop,
      threeTiers({ combine: "all", window: { type: "lifetime" }, grace_days: 0, max_downgrade_steps: 2 }),
      200,
    );
    const expectedV2 = {
      ...expectedV1,
      version: 2,
      combine: "all",
      window: { type: "lifetime" },
      grace_days: 0,
      max_downgrade_steps: 2,
      created_at: createdAt,
      updated_at: replacedAt,
    };
    expect(replaced).toEqual(expectedV2);
    expect(await h.ok(h.send("GET", shop.secretKey, "/v1/tiers"), 200)).toEqual(expectedV2);

    const versions = (await h.ok(h.send("GET", shop.secretKey, "/v1/tiers/versions"), 200)).data as Json[];
    expect(versions.map((version) => [version.version, version.combine, version.window, version.created_at])).toEqual([
      [2, "all", { type: "lifetime" }, replacedAt],
      [1, "any", { type: "rolling_months", months: 12 }, createdAt],
    ]);
    for (const version of versions) {
      expect(version.object).toBe("tier_program_version");
      expect(version.actor).toEqual({ type: "api_key", id: shop.secretKeyId });
      expect(version.tiers).toEqual(expectedV1.tiers);
    }
    // Each save is announced.
    expect((await h.outbox(shop, "tier_program.updated")).map((row) => row.payload.data.version)).toEqual([1, 2]);
  });

  it("refuses invalid programs with a pointer for each problem, and writes nothing", async () => {
    const shop = await createShop(t());
    const base = threeTiers().tiers as Json[];
    const [member, silver, gold] = base as [Json, Json, Json];
    const cases: Array<[string, Json, string[]]> = [
      ["one tier", { tiers: [member] }, ["/body/tiers"]],
      [
        "seven tiers",
        {
          tiers: [
            member,
            ...[1, 2, 3, 4, 5, 6].map((n) => ({ key: `t${n}`, name: { en: `T${n}` }, thresholds: { orders: n } })),
          ],
        },
        ["/body/tiers"],
      ],
      ["a repeated key", { tiers: [member, silver, { ...gold, key: "silver" }] }, ["/body/tiers/2/key"]],
      [
        "thresholds on the base tier",
        { tiers: [{ ...member, thresholds: { orders: 1 } }, silver, gold] },
        ["/body/tiers/0/thresholds"],
      ],
      [
        "a higher tier without thresholds",
        { tiers: [member, { ...silver, thresholds: {} }, gold] },
        ["/body/tiers/1/thresholds"],
      ],
      [
        "a higher tier with no thresholds field",
        { tiers: [member, { key: "silver", name: { en: "Silver" } }] },
        ["/body/tiers/1/thresholds"],
      ],
      [
        "spend in another currency",
        { tiers: [member, { ...silver, thresholds: { spend: { amount: 10000, currency: "EUR" } } }, gold] },
        ["/body/tiers/1/thresholds/spend/currency"],
      ],
      [
        "a higher tier asking less spend than a lower one",
        { tiers: [member, silver, { ...gold, thresholds: { spend: usd(9999), orders: 10 } }] },
        ["/body/tiers/2/thresholds/spend"],
      ],
      [
        "a higher tier asking fewer orders than a lower one",
        { tiers: [member, silver, { ...gold, thresholds: { spend: usd(150000), orders: 2 } }] },
        ["/body/tiers/2/thresholds/orders"],
      ],
      ["max_downgrade_steps above the tiers", threeTiers({ max_downgrade_steps: 3 }), ["/body/max_downgrade_steps"]],
      ["an unknown top-level field", threeTiers({ colour: "gold" }), ["/body/colour"]],
      ["an unknown tier field", { tiers: [member, { ...silver, colour: "grey" }, gold] }, ["/body/tiers/1/colour"]],
      [
        "an unknown benefit",
        { tiers: [member, { ...silver, benefits: { free_lunch: true } }, gold] },
        ["/body/tiers/1/benefits/free_lunch"],
      ],
      ["a key with capitals", { tiers: [member, { ...silver, key: "Silver!" }, gold] }, ["/body/tiers/1/key"]],
      ["a name without locales", { tiers: [member, { ...silver, name: {} }, gold] }, ["/body/tiers/1/name"]],
    ];
    for (const [label, body, pointers] of cases) {
      const got = await h.invalid(h.send("PUT", shop.secretKey, "/v1/tiers", body));
      expect(got, label).toEqual(pointers);
    }
    // Every problem at once.
    expect(
      await h.invalid(
        h.send("PUT", shop.secretKey, "/v1/tiers", {
          max_downgrade_steps: 3,
          tiers: [
            { ...member, thresholds: { orders: 1 } },
            { ...silver, thresholds: { spend: { amount: 1, currency: "JPY" } } },
            { ...gold, key: "silver" },
          ],
        }),
      ),
    ).toEqual([
      "/body/max_downgrade_steps",
      "/body/tiers/0/thresholds",
      "/body/tiers/1/thresholds/spend/currency",
      "/body/tiers/2/key",
    ]);
    await h.problem(h.send("GET", shop.secretKey, "/v1/tiers"), 404, "tier_program_not_found");
    expect(await h.ok(h.send("GET", shop.secretKey, "/v1/tiers/versions"), 200)).toEqual({ data: [] });

    // Refused replacements leave the saved version as it was.
    await h.putProgram(shop, threeTiers(), 201);
    await h.invalid(h.send("PUT", shop.secretKey, "/v1/tiers", { tiers: [member, { ...silver, thresholds: {} }] }));
    await h.invalid(h.send("PUT", shop.secretKey, "/v1/tiers", threeTiers({ max_downgrade_steps: 3 })));
    const current = await h.ok(h.send("GET", shop.secretKey, "/v1/tiers"), 200);
    expect(current).toMatchObject({ version: 1, max_downgrade_steps: 1 });
    expect((await h.ok(h.send("GET", shop.secretKey, "/v1/tiers/versions"), 200)).data).toHaveLength(1);
    // A two-tier program may drop one step, and six tiers are allowed.
    expect(
      await h.putProgram(
        shop,
        {
          max_downgrade_steps: 5,
          tiers: [
            member,
            ...[1, 2, 3, 4, 5].map((n) => ({ key: `t${n}`, name: { en: `T${n}` }, thresholds: { orders: n } })),
          ],
        },
        200,
      ),
    ).toMatchObject({ version: 2, max_downgrade_steps: 5 });
  });

  it("refuses to remove a tier some member holds, and removes one nobody holds", async () => {
    const shop = await createShop(t());
    await h.putProgram(shop, threeTiers(), 201);
    const memberId = await h.member(shop);
    await h.assign(shop, memberId, { tier: "silver", reason: "Test" });
    const [member, silver, gold] = threeTiers().tiers as [Json, Json, Json];

    const refused = await h.problem(
      h.send("PUT", shop.secretKey, "/v1/tiers", { tiers: [member, gold] }),
      409,
      "tier_in_use",
    );
    expect(refused.detail).toContain("1 member(s) hold the tier(s) silver");
    expect(await h.ok(h.send("GET", shop.secretKey, "/v1/tiers"), 200)).toMatchObject({ version: 1 });
    expect((await h.ok(h.send("GET", shop.secretKey, "/v1/tiers/versions"), 200)).data).toHaveLength(1);
    expect((await h.progress(shop, memberId)).tier.key).toBe("silver");

    const kept = await h.putProgram(shop, { tiers: [member, silver] }, 200);
    expect(kept.version).toBe(2);
    expect(kept.tiers.map((tier: Json) => tier.key)).toEqual(["member", "silver"]);
    expect(await h.progress(shop, memberId)).toMatchObject({
      program_version: 2,
      tier: { key: "silver" },
      next_tier: null,
    });
  });

  it("shows a member's metrics and what the next tier needs, combined with or and with and", async () => {
    const shop = await createShop(t());
    await h.rule(shop, tenPerDollar);
    await h.putProgram(shop, threeTiers(), 201);
    const memberId = await h.member(shop, { identifiers: [{ kind: "email", value: "ana@example.com" }] });
    expect((await h.order(shop, memberId, "1001", 3000)).points).toBe(300);
    expect((await h.order(shop, memberId, "1002", 2400)).points).toBe(240);

    const at = h.now();
    const spendShort = { metric: "spend", needed: 10000, current: 5400, missing: 4600 };
    const ordersShort = { metric: "orders", needed: 3, current: 2, missing: 1 };
    expect(await h.progress(shop, memberId)).toEqual({
      object: "member_tier",
      member_id: memberId,
      program_version: 1,
      tier: { key: "member", name: "Member", names: { en: "Member" }, position: 0, benefits: defaultBenefits },
      since: null,
      qualified_under_version: null,
      reevaluates_at: null,
      grace_until: null,
      locked_until: null,
      window: { type: "rolling_months", from: addMonths(at, -12), to: at },
      metrics: { spend: usd(5400), points: 540, orders: 2 },
      keep: null,
      next_tier: {
        key: "silver",
        name: "Silver",
        names: { en: "Silver" },
        position: 1,
        benefits: { ...defaultBenefits, free_shipping: true },
        metrics: [spendShort, ordersShort],
        summary: "$46.00 more or 1 more order",
      },
    });

    await h.putProgram(shop, threeTiers({ combine: "all" }), 200);
    const all = await h.progress(shop, memberId);
    expect(all.program_version).toBe(2);
    expect(all.next_tier.metrics).toEqual([spendShort, ordersShort]);
    expect(all.next_tier.summary).toBe("$46.00 more and 1 more order");

    // With all, a threshold already met drops out of the sentence but stays in the metrics.
    const lowOrders = threeTiers({ combine: "all" });
    lowOrders.tiers[1].thresholds = { spend: usd(10000), orders: 2, points: 1000 };
    await h.putProgram(shop, lowOrders, 200);
    const partly = await h.progress(shop, memberId);
    expect(partly.next_tier.metrics).toEqual([
      spendShort,
      { metric: "points", needed: 1000, current: 540, missing: 460 },
      { metric: "orders", needed: 2, current: 2, missing: 0 },
    ]);
    expect(partly.next_tier.summary).toBe("$46.00 more and 460 more points");
    // With any, one threshold met is enough.
    await h.putProgram(shop, { ...lowOrders, combine: "any" }, 200);
    expect((await h.progress(shop, memberId)).next_tier.summary).toBe("Qualifies now");

    // A third order reaches Silver (3 orders); keeping it is then shown, and Gold is next.
    await h.putProgram(shop, threeTiers(), 200);
    const third = await h.order(shop, memberId, "1003", 1000);
    expect(third.explanation.tier.change).toMatchObject({ kind: "upgrade", from: "member", to: "silver" });
    const upgradedAt = h.now();
    const silver = await h.progress(shop, memberId);
    expect(silver).toMatchObject({
      program_version: 5,
      tier: { key: "silver", name: "Silver", position: 1 },
      since: upgradedAt,
      qualified_under_version: 5,
      reevaluates_at: addMonths(upgradedAt, 12),
      grace_until: null,
      locked_until: null,
      metrics: { spend: usd(6400), points: 640, orders: 3 },
    });
    expect(silver.keep).toEqual({
      metrics: [
        { metric: "spend", needed: 10000, current: 6400, missing: 3600 },
        { metric: "orders", needed: 3, current: 3, missing: 0 },
      ],
      summary: "Qualifies now",
    });
    expect(silver.next_tier).toMatchObject({
      key: "gold",
      position: 2,
      summary: "$1,436.00 more or 7 more orders",
    });
  });

  it("names tiers in the asked locale, else its language, else the member's or shop's, else the first name", async () => {
    const shop = await createShop(t());
    await h.putProgram(
      shop,
      {
        tiers: [
          { key: "member", name: { en: "Member", fr: "Membre" } },
          {
            key: "silver",
            name: { es: "Plata", en: "Silver", fr: "Argent", "fr-CA": "Argent canadien" },
            thresholds: { orders: 3 },
          },
        ],
      },
      201,
    );
    const memberId = await h.member(shop);
    const names = async (query: string) => {
      const body = await h.progress(shop, memberId, query);
      return [body.tier.name, body.next_tier.name];
    };
    expect(await names("")).toEqual(["Member", "Silver"]); // the shop's default locale, en
    expect(await names("?locale=fr")).toEqual(["Membre", "Argent"]);
    expect(await names("?locale=fr-CA")).toEqual(["Membre", "Argent canadien"]);
    expect(await names("?locale=fr-BE")).toEqual(["Membre", "Argent"]);
    expect(await names("?locale=ja")).toEqual(["Member", "Plata"]);
    const full = await h.progress(shop, memberId, "?locale=fr");
    expect(full.next_tier.names).toEqual({ es: "Plata", en: "Silver", fr: "Argent", "fr-CA": "Argent canadien" });
    expect(full.tier.names).toEqual({ en: "Member", fr: "Membre" });

    const french = await h.member(shop, { locale: "fr" });
    const frenchBody = await h.progress(shop, french);
    expect([frenchBody.tier.name, frenchBody.next_tier.name]).toEqual(["Membre", "Argent"]);
    // ?locale= wins over the member's own.
    const asked = await h.progress(shop, french, "?locale=es");
    expect([asked.tier.name, asked.next_tier.name]).toEqual(["Member", "Plata"]);

    expect(
      await h.invalid(h.send("GET", shop.secretKey, `/v1/members/${memberId}/tier?locale=not%20a%20locale`)),
    ).toEqual(["/querystring/locale"]);
  });

  it("matches locales without regard to case, as BCP 47 tags are", async () => {
    // RFC 5646 §2.1.1: tags are case-insensitive. The query accepts either case, and members' and
    // shops' locales are stored canonical (fr-CA), so a tier name must be found whatever the case.
    const shop = await createShop(t());
    await h.putProgram(
      shop,
      {
        tiers: [
          { key: "member", name: { en: "Member", fr: "Membre" } },
          { key: "silver", name: { es: "Plata", fr: "Argent", "fr-CA": "Argent canadien" }, thresholds: { orders: 3 } },
        ],
      },
      201,
    );
    const memberId = await h.member(shop);
    const names = async (query: string) => {
      const body = await h.progress(shop, memberId, query);
      return [body.tier.name, body.next_tier.name];
    };
    expect(await names("?locale=FR")).toEqual(["Membre", "Argent"]);
    expect(await names("?locale=fr-ca")).toEqual(["Membre", "Argent canadien"]);
  });

  it("formats the spend still needed in a zero-decimal shop currency", async () => {
    const shop = await createShop(t(), { baseCurrency: "JPY" });
    await h.putProgram(
      shop,
      {
        tiers: [
          { key: "member", name: { en: "Member" } },
          { key: "silver", name: { en: "Silver" }, thresholds: { spend: { amount: 50000, currency: "JPY" } } },
        ],
      },
      201,
    );
    const memberId = await h.member(shop);
    await h.ok(
      h.send("POST", shop.secretKey, "/v1/events", {
        type: "order.paid",
        external_id: "jp-1",
        member_id: memberId,
        order: { id: "jp-1", currency: "JPY", total: 48020 },
      }),
      201,
    );
    const body = await h.progress(shop, memberId);
    expect(body.metrics).toEqual({ spend: { amount: 48020, currency: "JPY" }, points: 0, orders: 1 });
    expect(body.next_tier.summary).toBe("¥1,980 more");
    // And a USD threshold in this shop is refused.
    expect(
      await h.invalid(
        h.send("PUT", shop.secretKey, "/v1/tiers", {
          tiers: [
            { key: "member", name: { en: "Member" } },
            { key: "silver", name: { en: "Silver" }, thresholds: { spend: usd(100) } },
          ],
        }),
      ),
    ).toEqual(["/body/tiers/1/thresholds/spend/currency"]);
  });

  it("assigns a tier by hand with a lock, records it in the history and the outbox, and refuses bad input", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    // No program yet: nothing to assign or show.
    await h.problem(
      h.send("PUT", shop.secretKey, `/v1/members/${memberId}/tier`, { tier: "silver", reason: "Early" }),
      404,
      "tier_program_not_found",
    );
    await h.problem(h.send("GET", shop.secretKey, `/v1/members/${memberId}/tier`), 404, "tier_program_not_found");
    await h.putProgram(shop, threeTiers(), 201);

    const before = await h.counts();
    const refusals: Array<[Json, string[]]> = [
      [{ tier: "platinum", reason: "VIP" }, ["/body/tier"]],
      [{ tier: "Gold!", reason: "VIP" }, ["/body/tier"]],
      [{ tier: "gold" }, ["/body/reason"]],
      [{ tier: "gold", reason: "" }, ["/body/reason"]],
      [{ tier: "gold", reason: "VIP", extra: 1 }, ["/body/extra"]],
      [
        { tier: "gold", reason: "VIP", locked_until: new Date(t().clock.now().getTime() - minute).toISOString() },
        ["/body/locked_until"],
      ],
      [{ tier: "gold", reason: "VIP", locked_until: h.now() }, ["/body/locked_until"]],
      [{ tier: "gold", reason: "VIP", locked_until: "next week" }, ["/body/locked_until"]],
    ];
    for (const [body, pointers] of refusals) {
      const got = await h.invalid(h.send("PUT", shop.secretKey, `/v1/members/${memberId}/tier`, body));
      expect(got, JSON.stringify(body)).toEqual(pointers);
    }
    const unknownTier = await h.problem(
      h.send("PUT", shop.secretKey, `/v1/members/${memberId}/tier`, { tier: "platinum", reason: "VIP" }),
      400,
      "validation_failed",
    );
    expect(unknownTier.errors).toEqual([{ pointer: "/body/tier", message: "must be one of member, silver, gold" }]);
    await h.problem(
      h.send("PUT", shop.secretKey, "/v1/members/mem_01JD8X3M6Q2W9V4T7R5Y1K0ZAB/tier", { tier: "gold", reason: "VIP" }),
      404,
      "member_not_found",
    );
    expect(await h.counts()).toEqual(before);
    expect((await h.history(shop, memberId)).data).toEqual([]);

    const assignedAt = h.now();
    const lockedUntil = new Date(t().clock.now().getTime() + 90 * day).toISOString();
    const assigned = await h.assign(shop, memberId, {
      tier: "gold",
      reason: "Press partner",
      locked_until: lockedUntil,
    });
    expect(assigned).toMatchObject({
      object: "member_tier",
      member_id: memberId,
      program_version: 1,
      tier: { key: "gold", name: "Gold", position: 2 },
      since: assignedAt,
      qualified_under_version: 1,
      reevaluates_at: addMonths(assignedAt, 12),
      grace_until: null,
      locked_until: lockedUntil,
      metrics: { spend: usd(0), points: 0, orders: 0 },
      keep: {
        metrics: [
          { metric: "spend", needed: 150000, current: 0, missing: 150000 },
          { metric: "orders", needed: 10, current: 0, missing: 10 },
        ],
        summary: "$1,500.00 more or 10 more orders",
      },
      next_tier: null,
    });
    expect(await h.progress(shop, memberId)).toEqual(assigned);
    // Gold's entry reward comes with the first time the member reaches it.
    expect((await h.ok(h.send("GET", shop.secretKey, `/v1/members/${memberId}/points`), 200)).available).toBe(500);

    const lines = (await h.history(shop, memberId)).data as Json[];
    expect(lines).toEqual([
      {
        object: "tier_change",
        id: expect.stringMatching(/^tch_/),
        member_id: memberId,
        kind: "assigned",
        from: "member",
        to: "gold",
        reason: "Press partner",
        program_version: 1,
        metrics: null,
        event_id: null,
        actor: { type: "api_key", id: shop.secretKeyId },
        created_at: assignedAt,
      },
    ]);

    const sent = await h.outbox(shop, "tier.assigned");
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ subject_type: "member", subject_id: memberId });
    expect(sent[0]?.payload.data).toMatchObject({
      member_id: memberId,
      from: "member",
      to: "gold",
      reason: "Press partner",
      program_version: 1,
      since: assignedAt,
      locked_until: lockedUntil,
      entry_reward_transaction_id: expect.stringMatching(/^txn_/),
    });

    // Without locked_until, a new assignment has no lock.
    t().clock.advance(minute);
    const unlocked = await h.assign(shop, memberId, { tier: "silver", reason: "Back to silver" });
    expect(unlocked).toMatchObject({ tier: { key: "silver" }, locked_until: null, since: h.now() });
    // Gold again: no second entry reward, and an explicit null is no lock either.
    t().clock.advance(minute);
    const again = await h.assign(shop, memberId, { tier: "gold", reason: "Gold again", locked_until: null });
    expect(again).toMatchObject({ tier: { key: "gold" }, locked_until: null });
    expect((await h.ok(h.send("GET", shop.secretKey, `/v1/members/${memberId}/points`), 200)).available).toBe(500);
    const assignedEvents = await h.outbox(shop, "tier.assigned");
    expect(assignedEvents.map((row) => [row.payload.data.from, row.payload.data.to])).toEqual([
      ["member", "gold"],
      ["gold", "silver"],
      ["silver", "gold"],
    ]);
    expect(assignedEvents[2]?.payload.data.entry_reward_transaction_id).toBeNull();
    expect((await h.history(shop, memberId)).data.map((line: Json) => line.reason)).toEqual([
      "Gold again",
      "Back to silver",
      "Press partner",
    ]);
  });

  it("shows a lock that ends after the period as the moment of the re-evaluation", async () => {
    // docs/tiers.md: "A lock that ends later postpones the re-evaluation to `locked_until`", and the
    // sweep does wait for it (member_tiers.due_at is the lock's end).
    const shop = await createShop(t());
    await h.putProgram(shop, threeTiers(), 201);
    const memberId = await h.member(shop);
    const lockedUntil = addMonths(h.now(), 18);
    const assigned = await h.assign(shop, memberId, { tier: "gold", reason: "Two seasons", locked_until: lockedUntil });
    const row = await t()
      .database.db.selectFrom("member_tiers")
      .select(["period_ends_at", "due_at", "locked_until"])
      .where("member_id", "=", memberId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ period_ends_at: addMonths(h.now(), 12), due_at: lockedUntil, locked_until: lockedUntil });
    expect(assigned.locked_until).toBe(lockedUntil);
    expect(assigned.reevaluates_at).toBe(lockedUntil);
  });

  it("pages the tier history newest first", async () => {
    const shop = await createShop(t());
    await h.putProgram(shop, threeTiers(), 201);
    const memberId = await h.member(shop);
    const steps = ["silver", "gold", "member", "gold", "silver"];
    for (const [index, tier] of steps.entries()) {
      t().clock.advance(minute);
      await h.assign(shop, memberId, { tier, reason: `step ${index + 1}` });
    }
    const first = await h.history(shop, memberId, "?limit=2");
    expect(first.data.map((line: Json) => [line.from, line.to, line.reason])).toEqual([
      ["gold", "silver", "step 5"],
      ["member", "gold", "step 4"],
    ]);
    expect(first.has_more).toBe(true);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await h.history(shop, memberId, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.data.map((line: Json) => [line.from, line.to, line.reason])).toEqual([
      ["gold", "member", "step 3"],
      ["silver", "gold", "step 2"],
    ]);
    expect(second.has_more).toBe(true);
    const third = await h.history(shop, memberId, `?limit=2&cursor=${second.next_cursor}`);
    expect(third.data.map((line: Json) => [line.from, line.to, line.reason])).toEqual([["member", "silver", "step 1"]]);
    expect(third).toMatchObject({ has_more: false, next_cursor: null });

    const all = (await h.history(shop, memberId)).data as Json[];
    expect(all.map((line) => line.reason)).toEqual(["step 5", "step 4", "step 3", "step 2", "step 1"]);
    expect(all.map((line) => line.created_at)).toEqual([...all.map((line) => line.created_at)].sort().reverse());
    expect(new Set(all.map((line) => line.kind))).toEqual(new Set(["assigned"]));

    await h.problem(
      h.send("GET", shop.secretKey, `/v1/members/${memberId}/tier/history?cursor=nonsense`),
      400,
      "invalid_cursor",
    );
    expect(await h.invalid(h.send("GET", shop.secretKey, `/v1/members/${memberId}/tier/history?limit=0`))).toEqual([
      "/querystring/limit",
    ]);
  });

  it("previews where members would land under a draft without writing anything", async () => {
    const shop = await createShop(t());
    await h.rule(shop, tenPerDollar);
    const ordersProgram = (silverOrders: number, goldOrders: number, extra: Json = {}) => ({
      tiers: [
        { key: "member", name: { en: "Member" } },
        { key: "silver", name: { en: "Silver" }, thresholds: { orders: silverOrders } },
        { key: "gold", name: { en: "Gold" }, thresholds: { orders: goldOrders } },
      ],
      ...extra,
    });
    await h.putProgram(shop, ordersProgram(2, 4), 201);
    const m1 = await h.member(shop);
    const m2 = await h.member(shop);
    const m3 = await h.member(shop);
    const m4 = await h.member(shop);
    const m5 = await h.member(shop);
    await h.order(shop, m1, "p1", 2000);
    await h.order(shop, m1, "p2", 2000); // m1 reaches silver
    await h.assign(shop, m3, { tier: "gold", reason: "Unlocked gold" });
    await h.assign(shop, m4, {
      tier: "gold",
      reason: "Locked gold",
      locked_until: new Date(t().clock.now().getTime() + 30 * day).toISOString(),
    });
    await h.order(shop, m5, "p3", 1500);
    expect((await h.progress(shop, m1)).tier.key).toBe("silver");
    expect((await h.progress(shop, m5)).tier.key).toBe("member");
    expect((await h.progress(shop, m2)).metrics.orders).toBe(0);

    const before = await h.counts();
    const preview = await h.ok(
      h.send("POST", shop.secretKey, "/v1/tiers/preview", { program: ordersProgram(1, 2) }),
      200,
    );
    expect(preview).toEqual({
      object: "tier_preview",
      members: 5,
      tiers: [
        { key: "member", current: 2, projected: 1 },
        { key: "silver", current: 1, projected: 2 },
        { key: "gold", current: 2, projected: 2 },
      ],
      upgrades: 2,
      downgrades: 1,
      moves: [
        { member_id: m1, from: "silver", to: "gold", metrics: { spend: usd(4000), points: 400, orders: 2 } },
        { member_id: m3, from: "gold", to: "silver", metrics: { spend: usd(0), points: 0, orders: 0 } },
        { member_id: m5, from: "member", to: "silver", metrics: { spend: usd(1500), points: 150, orders: 1 } },
      ],
    });
    expect(await h.counts()).toEqual(before);
    expect(await h.ok(h.send("GET", shop.secretKey, "/v1/tiers"), 200)).toMatchObject({
      version: 1,
      tiers: [
        { key: "member" },
        { key: "silver", thresholds: { orders: 2 } },
        { key: "gold", thresholds: { orders: 4 } },
      ],
    });
    expect((await h.progress(shop, m1)).tier.key).toBe("silver");
    expect((await h.progress(shop, m3)).tier.key).toBe("gold");
    expect((await h.progress(shop, m5)).tier.key).toBe("member");

    // sample caps the moves listed, not the counts.
    const sampled = await h.ok(
      h.send("POST", shop.secretKey, "/v1/tiers/preview", { program: ordersProgram(1, 2), sample: 1 }),
      200,
    );
    expect(sampled).toMatchObject({ members: 5, upgrades: 2, downgrades: 1, tiers: preview.tiers });
    expect(sampled.moves).toEqual([preview.moves[0]]);
    expect(
      (
        await h.ok(
          h.send("POST", shop.secretKey, "/v1/tiers/preview", { program: ordersProgram(1, 2), sample: 0 }),
          200,
        )
      ).moves,
    ).toEqual([]);
    // Two steps down at most: unlocked gold falls to the base.
    const steep = await h.ok(
      h.send("POST", shop.secretKey, "/v1/tiers/preview", {
        program: ordersProgram(1, 2, { max_downgrade_steps: 2 }),
      }),
      200,
    );
    expect(steep.moves.find((move: Json) => move.member_id === m3)).toMatchObject({ from: "gold", to: "member" });

    // An invalid draft: pointers under /body/program.
    expect(
      await h.invalid(
        h.send("POST", shop.secretKey, "/v1/tiers/preview", {
          program: {
            max_downgrade_steps: 3,
            tiers: [
              { key: "member", name: { en: "Member" } },
              { key: "silver", name: { en: "Silver" }, thresholds: { spend: { amount: 100, currency: "EUR" } } },
              { key: "gold", name: { en: "Gold" }, thresholds: {} },
            ],
          },
        }),
      ),
    ).toEqual([
      "/body/program/max_downgrade_steps",
      "/body/program/tiers/1/thresholds/spend/currency",
      "/body/program/tiers/2/thresholds",
    ]);
    expect(
      await h.invalid(
        h.send("POST", shop.secretKey, "/v1/tiers/preview", {
          program: { tiers: [{ key: "member", name: { en: "Member" }, colour: "x" }] },
        }),
      ),
    ).toEqual(["/body/program/tiers", "/body/program/tiers/0/colour"]);
    expect(await h.counts()).toEqual(before);
  });

  it("shows the shopper their tier with the publishable key and a customer token", async () => {
    const shop = await createShop(t());
    await h.rule(shop, tenPerDollar);
    await h.putProgram(shop, threeTiers(), 201);
    const memberId = await h.member(shop, { locale: "fr" });
    await h.order(shop, memberId, "s1", 4321);
    await h.assign(shop, memberId, { tier: "gold", reason: "Ambassador" });
    const token = (await h.ok(h.send("POST", shop.secretKey, `/v1/members/${memberId}/customer-tokens`, {}), 201))
      .token as string;
    const headers = { "x-laurel-customer-token": token };

    const mine = await h.send("GET", shop.publishableKey, "/v1/me/tier", undefined, headers);
    expect(mine.headers["cache-control"]).toBe("private, no-store");
    const body = await h.ok(Promise.resolve(mine), 200);
    expect(body).toMatchObject({
      member_id: memberId,
      tier: { key: "gold", name: "Or" },
      metrics: { spend: usd(4321), points: 432, orders: 1 },
    });
    expect(body).toEqual(await h.progress(shop, memberId));
    expect(await h.ok(h.send("GET", shop.publishableKey, "/v1/me/tier?locale=en", undefined, headers), 200)).toEqual(
      await h.progress(shop, memberId, "?locale=en"),
    );

    await h.problem(h.send("GET", shop.publishableKey, "/v1/me/tier"), 401, "customer_token_required");
    await h.problem(
      h.send("GET", shop.publishableKey, "/v1/me/tier", undefined, { "x-laurel-customer-token": `${token}x` }),
      401,
      "invalid_customer_token",
    );
    // The publishable key reaches only the storefront route.
    await h.problem(h.send("GET", shop.publishableKey, `/v1/members/${memberId}/tier`), 403, "secret_key_required");
    // Another shop's key does not accept this shop's token.
    const other = await createShop(t());
    const foreign = await h.send("GET", other.publishableKey, "/v1/me/tier", undefined, headers);
    expect(foreign.statusCode).toBe(401);
    expect(foreign.body).not.toContain(memberId);
  });

  it("keeps each shop's tiers and members' tiers to itself", async () => {
    const shopA = await createShop(t());
    const shopB = await createShop(t());
    await h.rule(shopA, tenPerDollar);
    const programA = await h.putProgram(shopA, threeTiers(), 201);
    const memberA = await h.member(shopA);
    await h.order(shopA, memberA, "a1", 5000);
    await h.assign(shopA, memberA, { tier: "silver", reason: "A's reason" });
    const historyA = await h.history(shopA, memberA);
    const progressA = await h.progress(shopA, memberA);

    // Shop B has no program of its own, whatever A has.
    await h.problem(h.send("GET", shopB.secretKey, "/v1/tiers"), 404, "tier_program_not_found");
    expect(await h.ok(h.send("GET", shopB.secretKey, "/v1/tiers/versions"), 200)).toEqual({ data: [] });
    for (const url of [`/v1/members/${memberA}/tier`, `/v1/members/${memberA}/tier/history`]) {
      const response = await h.send("GET", shopB.secretKey, url);
      expect(response.statusCode, url).toBe(404);
      expect(response.json().code, url).toBe("member_not_found");
      expect(response.body).not.toContain("A's reason");
    }
    const assignWithoutProgram = await h.send("PUT", shopB.secretKey, `/v1/members/${memberA}/tier`, {
      tier: "gold",
      reason: "B's reason",
    });
    // The member is looked up first: another shop's member is not found, program or not.
    expect(assignWithoutProgram.statusCode).toBe(404);
    expect(assignWithoutProgram.json().code).toBe("member_not_found");

    // B saves a program with the same keys: still nothing of A's reaches B, and A's program stays.
    expect(await h.putProgram(shopB, threeTiers({ combine: "all" }), 201)).toMatchObject({
      version: 1,
      combine: "all",
    });
    const attempts: Array<[Method, string, Json | undefined]> = [
      ["GET", `/v1/members/${memberA}/tier`, undefined],
      ["GET", `/v1/members/${memberA}/tier?locale=fr`, undefined],
      ["PUT", `/v1/members/${memberA}/tier`, { tier: "gold", reason: "B's reason" }],
      ["GET", `/v1/members/${memberA}/tier/history`, undefined],
    ];
    for (const [method, url, payload] of attempts) {
      const response = await h.send(method, shopB.secretKey, url, payload);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json().code, `${method} ${url}`).toBe("member_not_found");
      expect(response.body).not.toContain("A's reason");
    }
    const previewB = await h.ok(h.send("POST", shopB.secretKey, "/v1/tiers/preview", { program: threeTiers() }), 200);
    expect(previewB).toMatchObject({ members: 0, upgrades: 0, downgrades: 0, moves: [] });

    expect(await h.ok(h.send("GET", shopA.secretKey, "/v1/tiers"), 200)).toEqual(programA);
    expect((await h.ok(h.send("GET", shopA.secretKey, "/v1/tiers/versions"), 200)).data).toHaveLength(1);
    expect(await h.history(shopA, memberA)).toEqual(historyA);
    expect(await h.progress(shopA, memberA)).toEqual(progressA);
    expect(progressA).toMatchObject({ program_version: 1, tier: { key: "silver" } });
    expect(
      await t().database.db.selectFrom("tier_changes").select("shop_id").where("member_id", "=", memberA).execute(),
    ).toEqual([{ shop_id: shopA.shop.id }]);
  });

  it("multiplies an upgraded member's order points by the tier multiplier, rounded down", async () => {
    const shop = await createShop(t());
    const rule = await h.rule(shop, tenPerDollar);
    await h.putProgram(
      shop,
      {
        tiers: [
          { key: "member", name: { en: "Member" } },
          {
            key: "silver",
            name: { en: "Silver" },
            thresholds: { orders: 2 },
            benefits: { points_multiplier: { numerator: 3, denominator: 2 } },
          },
        ],
      },
      201,
    );
    const memberId = await h.member(shop);
    const first = await h.order(shop, memberId, "m1", 1000);
    expect(first.points).toBe(100);
    expect(first.explanation.tier).toMatchObject({ key: "member", change: null });
    // The order that reaches Silver earns at the member's tier before it.
    const second = await h.order(shop, memberId, "m2", 1000);
    expect(second.points).toBe(100);
    expect(second.explanation.rules[0].multipliers).toEqual([]);
    expect(second.explanation.tier).toMatchObject({
      key: "silver",
      change: { kind: "upgrade", from: "member", to: "silver", entry_reward_transaction_id: null },
    });
    const upgrade = (await h.history(shop, memberId)).data[0] as Json;
    expect(upgrade).toMatchObject({
      kind: "upgrade",
      from: "member",
      to: "silver",
      event_id: second.id,
      metrics: { spend: 2000, orders: 2, points: 200 },
      actor: { type: "api_key", id: shop.secretKeyId },
    });

    // $10.10 is 101 points, × 3/2 = 151.5, rounded down to 151.
    const third = await h.order(shop, memberId, "m3", 1010);
    expect(third.points).toBe(151);
    const [line] = third.explanation.rules as Json[];
    expect(line).toMatchObject({ rule_id: rule.id, base: 101, multiplied: 151, awarded: 151 });
    expect(line?.multipliers).toEqual([
      { label: "silver tier", numerator: 3, denominator: 2, applied: true, reason: null },
    ]);
    const fetched = await h.ok(h.send("GET", shop.secretKey, `/v1/events/${third.id}`), 200);
    expect(fetched.explanation.rules[0].multipliers).toEqual(line?.multipliers);
    expect((await h.ok(h.send("GET", shop.secretKey, `/v1/members/${memberId}/points`), 200)).available).toBe(351);
    expect((await h.progress(shop, memberId)).metrics).toEqual({ spend: usd(3010), points: 351, orders: 3 });

    // Other event types earn without it.
    await h.rule(shop, { name: "Review", event_type: "review.created", reward: { type: "fixed", points: 25 } });
    const review = await h.ok(
      h.send("POST", shop.secretKey, "/v1/events", { type: "review.created", external_id: "r1", member_id: memberId }),
      201,
    );
    expect(review.points).toBe(25);
    expect(review.explanation.rules[0].multipliers).toEqual([]);
  });
});
