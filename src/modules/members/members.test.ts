import type { LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, type TestApp, useTestApp } from "../../../test/support/app.js";

type Response = LightMyRequestResponse;
type Json = Record<string, unknown>;
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

interface IdentifierJson {
  kind: string;
  value: string;
  verified_at: string | null;
  created_at: string;
}

interface MemberJson {
  id: string;
  object: "member";
  status: string;
  email: string | null;
  phone: string | null;
  given_name: string | null;
  family_name: string | null;
  name_order: string | null;
  birthday: { month: number; day: number; year: number | null } | null;
  locale: string | null;
  country: string | null;
  marketing_preferences: Json;
  attributes: Json;
  tags: string[];
  identifiers: IdentifierJson[];
  profile_completed_at: string | null;
  joined_at: string | null;
  merged_into_member_id: string | null;
  created_at: string;
  updated_at: string;
}

interface ConsentJson {
  id: string;
  purpose: string;
  channel: string;
  status: "granted" | "withdrawn";
  source: string;
  wording_version: string | null;
  ip_address: string | null;
  user_agent: string | null;
  recorded_at: string;
}

interface ConsentsJson {
  object: "member_consents";
  member_id: string;
  purposes: Array<{ purpose: string; granted: boolean; latest: ConsentJson | null }>;
}

interface PageJson<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

interface EventRow {
  type: string;
  subjectId: string;
  payload: string;
  data: Json;
}

const minute = 60_000;
const purposes = ["email_marketing", "sms_marketing", "whatsapp_marketing", "profiling", "data_processing"];

/** Requests as an API client makes them, and the rows a test compares before and after. */
function harness(t: () => TestApp) {
  function request(key: string, method: Method, url: string, payload?: unknown): Promise<Response> {
    return t().app.inject({
      method,
      url,
      headers: bearer(key),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }

  /** Sends `text` as the JSON body, unchanged (malformed JSON, `null`, arrays). */
  function raw(key: string, method: Method, url: string, text: string): Promise<Response> {
    return t().app.inject({
      method,
      url,
      headers: { ...bearer(key), "content-type": "application/json" },
      payload: text,
    });
  }

  async function ok<T = Json>(response: Promise<Response>, status: number): Promise<T> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.json() as T;
  }

  function create(key: string, body: Json = {}): Promise<MemberJson> {
    return ok<MemberJson>(request(key, "POST", "/v1/members", body), 201);
  }

  function get(key: string, id: string): Promise<MemberJson> {
    return ok<MemberJson>(request(key, "GET", `/v1/members/${id}`), 200);
  }

  function patch(key: string, id: string, body: Json): Promise<MemberJson> {
    return ok<MemberJson>(request(key, "PATCH", `/v1/members/${id}`, body), 200);
  }

  function upsert(key: string, kind: string, value: string, body?: Json): Promise<Response> {
    return request(key, "PUT", `/v1/members/by/${kind}/${encodeURIComponent(value)}`, body);
  }

  function list(key: string, query: string): Promise<PageJson<MemberJson>> {
    return ok<PageJson<MemberJson>>(request(key, "GET", `/v1/members?${query}`), 200);
  }

  function setShop(key: string, body: Json): Promise<Json> {
    return ok(request(key, "PATCH", "/v1/shop", body), 200);
  }

  function defineAttribute(key: string, name: string, body: Json): Promise<Json> {
    return ok(request(key, "PUT", `/v1/member-attributes/${name}`, body), 200);
  }

  function recordConsents(key: string, id: string, body: Json): Promise<ConsentsJson> {
    return ok<ConsentsJson>(request(key, "POST", `/v1/members/${id}/consents`, body), 201);
  }

  /** The shop's outbox in order, optionally for one member, with each event's data. */
  async function events(shopId: string, memberId?: string): Promise<EventRow[]> {
    let query = t()
      .database.db.selectFrom("outbox")
      .select(["type", "subject_id", "payload"])
      .where("shop_id", "=", shopId);
    if (memberId) query = query.where("subject_id", "=", memberId);
    const rows = await query.orderBy("id").execute();
    return rows.map((row) => ({
      type: row.type,
      subjectId: row.subject_id,
      payload: row.payload,
      data: (JSON.parse(row.payload) as { data: Json }).data,
    }));
  }

  async function eventTypes(shopId: string, memberId?: string): Promise<string[]> {
    return (await events(shopId, memberId)).map((event) => event.type);
  }

  /** Every row the members module (and member creation) can write for one shop. */
  async function stateOf(shopId: string) {
    const db = t().database.db;
    return {
      shop: await db.selectFrom("shops").selectAll().where("id", "=", shopId).execute(),
      members: await db.selectFrom("members").selectAll().where("shop_id", "=", shopId).orderBy("id").execute(),
      identifiers: await db
        .selectFrom("member_identifiers")
        .selectAll()
        .where("shop_id", "=", shopId)
        .orderBy("kind")
        .orderBy("value")
        .execute(),
      consents: await db
        .selectFrom("member_consents")
        .selectAll()
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute(),
      attributes: await db
        .selectFrom("member_attribute_definitions")
        .selectAll()
        .where("shop_id", "=", shopId)
        .orderBy("key")
        .execute(),
      accounts: await db
        .selectFrom("point_accounts")
        .select(["member_id", "available"])
        .where("shop_id", "=", shopId)
        .orderBy("member_id")
        .execute(),
      outbox: await db
        .selectFrom("outbox")
        .select(["id", "type"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute(),
    };
  }

  async function countRows(table: "members" | "member_identifiers" | "point_accounts", shopId: string) {
    const rows = await t().database.db.selectFrom(table).select("shop_id").where("shop_id", "=", shopId).execute();
    return rows.length;
  }

  return {
    request,
    raw,
    ok,
    create,
    get,
    patch,
    upsert,
    list,
    setShop,
    defineAttribute,
    recordConsents,
    events,
    eventTypes,
    stateOf,
    countRows,
  };
}

function expectProblem(response: Response, status: number, code: string): Json {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const problem = response.json() as Json;
  expect(problem).toMatchObject({ type: `urn:laurel:problem:${code}`, status, code });
  expect(typeof problem.title).toBe("string");
  expect(typeof problem.detail).toBe("string");
  expect(problem.request_id).toBe(response.headers["x-request-id"]);
  return problem;
}

/** The distinct fields a problem names (a union may report one field more than once). */
function pointersOf(problem: Json): string[] {
  return [...new Set(((problem.errors ?? []) as Array<{ pointer: string }>).map((error) => error.pointer))].sort();
}

function ids(page: PageJson<{ id: string }>): string[] {
  return page.data.map((item) => item.id);
}

describeEachDialect("members API", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  /** Moves the clock on and returns the new now, so each step has its own timestamp. */
  function tick(ms = minute): string {
    t().clock.advance(ms);
    return t().clock.now().toISOString();
  }

  describe("identifier normalization", () => {
    it("treats an email in any case and with surrounding spaces as one identifier", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const member = await h.create(key, { identifiers: [{ kind: "email", value: "  Ana.Silva@Example.COM " }] });
      expect(member.email).toBe("ana.silva@example.com");
      expect(member.identifiers).toEqual([
        { kind: "email", value: "ana.silva@example.com", verified_at: null, created_at: member.created_at },
      ]);

      const found = await h.upsert(key, "email", "ANA.SILVA@example.com ");
      expect(found.statusCode, found.body).toBe(200);
      expect((found.json() as MemberJson).id).toBe(member.id);

      const before = await h.stateOf(shop.id);
      const again = await h.request(key, "POST", "/v1/members", {
        identifiers: [{ kind: "email", value: "ana.silva@EXAMPLE.com" }],
      });
      const problem = expectProblem(again, 409, "identifier_taken");
      expect(problem.member_id).toBe(member.id);
      expect(pointersOf(problem)).toEqual(["/body/identifiers/0/value"]);
      expect(await h.stateOf(shop.id)).toEqual(before);
    });

    const phones = [
      { country: "CN", local: "138 0013 8000", international: "+86 138 0013 8000", e164: "+8613800138000" },
      { country: "US", local: "(213) 373-4253", international: "+1 213-373-4253", e164: "+12133734253" },
      { country: "DE", local: "0151 12345678", international: "0049 151 12345678", e164: "+4915112345678" },
      { country: "JP", local: "090-1234-5678", international: "+81 90-1234-5678", e164: "+819012345678" },
      { country: "BR", local: "(11) 91234-5678", international: "+55 11 91234-5678", e164: "+5511912345678" },
    ];

    it.each(phones)(
      "maps local and international phone numbers in $country to one E.164 number",
      async ({ country, local, international, e164 }) => {
        const { secretKey: key } = await createShop(t(), { defaultCountry: country });
        const member = await h.create(key, { identifiers: [{ kind: "phone", value: local }] });
        expect(member.phone).toBe(e164);
        expect(member.identifiers.map((identifier) => identifier.value)).toEqual([e164]);

        for (const form of [international, e164, local]) {
          const found = await h.upsert(key, "phone", form);
          expect(found.statusCode, `${form}: ${found.body}`).toBe(200);
          expect((found.json() as MemberJson).id).toBe(member.id);
        }
        const taken = await h.request(key, "POST", "/v1/members", {
          identifiers: [{ kind: "phone", value: international }],
        });
        expect(expectProblem(taken, 409, "identifier_taken").member_id).toBe(member.id);
      },
    );

    it("refuses a local phone number until the shop sets default_country (PATCH /v1/shop)", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const before = await h.stateOf(shop.id);
      const refused = await h.request(key, "POST", "/v1/members", {
        identifiers: [
          { kind: "email", value: "bea@example.com" },
          { kind: "phone", value: "0151 12345678" },
        ],
      });
      const problem = expectProblem(refused, 422, "invalid_field_value");
      expect(pointersOf(problem)).toEqual(["/body/identifiers/1/value"]);
      expect(problem.detail).toContain("not a valid international phone number");
      expect(problem.detail).toContain("default_country");
      const byPath = await h.upsert(key, "phone", "0151 12345678");
      expect(pointersOf(expectProblem(byPath, 422, "invalid_field_value"))).toEqual(["/params/value"]);
      expect(await h.stateOf(shop.id)).toEqual(before);

      expect(await h.setShop(key, { default_country: "DE" })).toMatchObject({ default_country: "DE" });
      const member = await h.create(key, { identifiers: [{ kind: "phone", value: "0151 12345678" }] });
      expect(member.phone).toBe("+4915112345678");

      // Back to international numbers only: stored numbers stay findable in E.164.
      expect(await h.setShop(key, { default_country: null })).toMatchObject({ default_country: null });
      expect(await h.ok<MemberJson>(h.upsert(key, "phone", "+49 151 12345678"), 200)).toMatchObject({ id: member.id });
      expectProblem(await h.upsert(key, "phone", "0151 12345678"), 422, "invalid_field_value");
    });

    it("reads WhatsApp ids as E.164 and Shopify global ids as the customer id", async () => {
      const { secretKey: key } = await createShop(t(), { defaultCountry: "DE" });
      const member = await h.create(key, {
        identifiers: [
          { kind: "whatsapp", value: "4915112345678" },
          { kind: "shopify", value: "gid://shopify/Customer/123" },
          { kind: "external", value: " CRM-42 " },
        ],
      });
      expect(member.identifiers.map(({ kind, value }) => ({ kind, value }))).toEqual([
        { kind: "external", value: "CRM-42" },
        { kind: "shopify", value: "123" },
        { kind: "whatsapp", value: "+4915112345678" },
      ]);
      expect(member.email).toBeNull();
      expect(member.phone).toBeNull();

      for (const [kind, value] of [
        ["whatsapp", "+4915112345678"],
        ["whatsapp", "4915112345678"],
        ["whatsapp", "0151 12345678"],
        ["shopify", "123"],
        ["shopify", "gid://shopify/Customer/123"],
        ["external", "CRM-42"],
      ] as const) {
        const found = await h.upsert(key, kind, value);
        expect(found.statusCode, `${kind} ${value}: ${found.body}`).toBe(200);
        expect((found.json() as MemberJson).id).toBe(member.id);
      }
      // The same number as a phone is another identifier: a member may hold both.
      const withPhone = await h.patch(key, member.id, { identifiers: [{ kind: "phone", value: "+4915112345678" }] });
      expect(withPhone.phone).toBe("+4915112345678");
    });

    it("refuses invalid identifiers with the JSON pointer of the bad field and writes nothing", async () => {
      const { shop, secretKey: key } = await createShop(t(), { defaultCountry: "US" });
      const member = await h.create(key, { identifiers: [{ kind: "email", value: "ok@example.com" }] });
      const before = await h.stateOf(shop.id);
      const cases: Array<[string, string]> = [
        ["email", "not-an-email"],
        ["email", "ana@example"],
        ["phone", "12345"],
        ["phone", "call me at +1 213 373 4253"],
        ["whatsapp", "hello"],
        ["shopify", "gid://shopify/Order/123"],
        ["shopify", "abc"],
        ["woocommerce", "a b"],
        ["magento", "x".repeat(65)],
        ["external", "tab\tinside"],
      ];
      for (const [kind, value] of cases) {
        const created = await h.request(key, "POST", "/v1/members", {
          identifiers: [
            { kind: "email", value: "fine@example.com" },
            { kind, value },
          ],
        });
        const problem = expectProblem(created, 422, "invalid_field_value");
        expect(pointersOf(problem), `${kind} ${value}`).toEqual(["/body/identifiers/1/value"]);

        const updated = await h.request(key, "PATCH", `/v1/members/${member.id}`, { identifiers: [{ kind, value }] });
        expect(pointersOf(expectProblem(updated, 422, "invalid_field_value"))).toEqual(["/body/identifiers/0/value"]);

        const upserted = await h.upsert(key, kind, value);
        expect(pointersOf(expectProblem(upserted, 422, "invalid_field_value"))).toEqual(["/params/value"]);

        const linked = await h.upsert(key, "email", "ok@example.com", {
          identifiers: [
            { kind: "email", value: "new@example.com" },
            { kind, value },
          ],
        });
        expect(pointersOf(expectProblem(linked, 422, "invalid_field_value"))).toEqual(["/body/identifiers/1/value"]);

        const linkedToNew = await h.upsert(key, "email", "brand-new@example.com", {
          identifiers: [
            { kind: "email", value: "new@example.com" },
            { kind, value },
          ],
        });
        expect(pointersOf(expectProblem(linkedToNew, 422, "invalid_field_value"))).toEqual([
          "/body/identifiers/1/value",
        ]);
      }
      expect(await h.stateOf(shop.id)).toEqual(before);
    });
  });

  describe("create, read, update, cancel", () => {
    it("creates a member with normalized identifiers, profile, points account and events", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const now = tick();
      const member = await h.create(key, {
        identifiers: [
          { kind: "shopify", value: "gid://shopify/Customer/7012345678901" },
          { kind: "email", value: "  Ana.Silva@Example.COM ", verified: true },
        ],
        given_name: " Ana ",
        family_name: "Silva",
        name_order: "given_first",
        birthday: { month: 4, day: 12 },
        locale: "pt-br",
        country: "BR",
        marketing_preferences: { topics: ["coffee", "tea"], frequency: "weekly" },
      });
      expect(member).toEqual({
        id: expect.stringMatching(/^mem_[0-9A-Z]{26}$/),
        object: "member",
        status: "active",
        email: "ana.silva@example.com",
        phone: null,
        given_name: "Ana",
        family_name: "Silva",
        name_order: "given_first",
        birthday: { month: 4, day: 12, year: null },
        locale: "pt-BR",
        country: "BR",
        marketing_preferences: { topics: ["coffee", "tea"], frequency: "weekly" },
        attributes: {},
        tags: [],
        identifiers: [
          { kind: "email", value: "ana.silva@example.com", verified_at: now, created_at: now },
          { kind: "shopify", value: "7012345678901", verified_at: null, created_at: now },
        ],
        profile_completed_at: now,
        joined_at: now,
        merged_into_member_id: null,
        created_at: now,
        updated_at: now,
      });
      expect(await h.get(key, member.id)).toEqual(member);
      expect(await h.ok(h.request(key, "GET", `/v1/members/${member.id}/points`), 200)).toMatchObject({
        member_id: member.id,
        available: 0,
      });

      const events = await h.events(shop.id);
      expect(events.map((event) => [event.type, event.subjectId])).toEqual([
        ["member.created", member.id],
        ["profile.completed", member.id],
      ]);
      for (const event of events) expect(event.data).toEqual({ member });
    });

    it("takes the status from the shop's enrollment mode unless given", async () => {
      const auto = await createShop(t());
      const optIn = await createShop(t(), { enrollmentMode: "opt_in" });
      const now = t().clock.now().toISOString();

      expect(await h.create(auto.secretKey)).toMatchObject({ status: "active", joined_at: now });
      expect(await h.create(auto.secretKey, { status: "guest" })).toMatchObject({ status: "guest", joined_at: null });
      expect(await h.create(optIn.secretKey)).toMatchObject({ status: "guest", joined_at: null });
      expect(await h.create(optIn.secretKey, { status: "active" })).toMatchObject({ status: "active", joined_at: now });

      // Switching the mode through the API applies to members created afterwards.
      expect(await h.setShop(auto.secretKey, { enrollment_mode: "opt_in" })).toMatchObject({
        enrollment_mode: "opt_in",
      });
      expect(await h.create(auto.secretKey)).toMatchObject({ status: "guest" });
    });

    it("updates profile fields: absent keeps, null clears, identifiers are added", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const member = await h.create(key, {
        identifiers: [{ kind: "email", value: "kenji@example.jp" }],
        given_name: "Kenji",
        family_name: "Yamada",
        locale: "ja",
        marketing_preferences: { topics: ["tea"] },
      });
      const now = tick();
      const updated = await h.patch(key, member.id, {
        given_name: "健二",
        family_name: "山田",
        name_order: "family_first",
        locale: null,
        country: "JP",
        birthday: { month: 12, day: 31, year: 1990 },
        marketing_preferences: {},
        identifiers: [
          { kind: "phone", value: "+81 90-1234-5678" },
          { kind: "email", value: "KENJI@example.jp", verified: true },
        ],
      });
      expect(updated).toEqual({
        ...member,
        given_name: "健二",
        family_name: "山田",
        name_order: "family_first",
        locale: null,
        country: "JP",
        birthday: { month: 12, day: 31, year: 1990 },
        marketing_preferences: {},
        phone: "+819012345678",
        identifiers: [
          { kind: "email", value: "kenji@example.jp", verified_at: now, created_at: member.created_at },
          { kind: "phone", value: "+819012345678", verified_at: null, created_at: now },
        ],
        profile_completed_at: now,
        updated_at: now,
      });
      expect(await h.get(key, member.id)).toEqual(updated);

      const events = await h.events(shop.id, member.id);
      expect(events.map((event) => event.type)).toEqual(["member.created", "member.updated", "profile.completed"]);
      const changed = events[1]?.data.changed as string[];
      expect([...changed].sort()).toEqual(
        [
          "birthday_day",
          "birthday_month",
          "birthday_year",
          "country",
          "family_name",
          "given_name",
          "identifiers",
          "locale",
          "marketing_preferences",
          "name_order",
        ].sort(),
      );
      expect(events[1]?.data.member).toEqual(updated);

      // Only what is given changes; null clears.
      const later = tick();
      const cleared = await h.patch(key, member.id, { family_name: null, birthday: null });
      expect(cleared).toEqual({ ...updated, family_name: null, birthday: null, updated_at: later });

      // A change to nothing writes nothing and emits nothing.
      tick();
      const same = await h.patch(key, member.id, {
        given_name: "健二",
        identifiers: [{ kind: "phone", value: "+819012345678" }],
      });
      expect(same).toEqual(cleared);
      expect(await h.eventTypes(shop.id, member.id)).toEqual([
        "member.created",
        "member.updated",
        "profile.completed",
        "member.updated",
      ]);
    });

    it("suspends and reinstates; a guest cannot be made active by PATCH", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const member = await h.create(key);
      const suspendedAt = tick();
      expect(await h.patch(key, member.id, { status: "suspended" })).toMatchObject({
        status: "suspended",
        updated_at: suspendedAt,
      });
      const reinstatedAt = tick();
      expect(await h.patch(key, member.id, { status: "active" })).toMatchObject({
        status: "active",
        joined_at: member.joined_at,
        updated_at: reinstatedAt,
      });
      expect(await h.eventTypes(shop.id, member.id)).toEqual([
        "member.created",
        "member.updated",
        "member.suspended",
        "member.updated",
        "member.reinstated",
      ]);

      const guest = await h.create(key, { status: "guest" });
      const before = await h.stateOf(shop.id);
      for (const status of ["active", "suspended"]) {
        const refused = await h.request(key, "PATCH", `/v1/members/${guest.id}`, { status, given_name: "Gus" });
        const problem = expectProblem(refused, 422, "invalid_field_value");
        expect(pointersOf(problem)).toEqual(["/body/status"]);
        expect(problem.detail).toContain("join");
      }
      expectProblem(
        await h.request(key, "PATCH", `/v1/members/${guest.id}`, { status: "cancelled" }),
        400,
        "validation_failed",
      );
      expect(await h.stateOf(shop.id)).toEqual(before);
      expect(await h.get(key, guest.id)).toEqual(guest);
    });

    it("cancels with DELETE; twice is fine; a cancelled member cannot change or join", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const member = await h.create(key, { identifiers: [{ kind: "email", value: "gone@example.com" }] });
      const now = tick();
      const cancelled = await h.ok<MemberJson>(h.request(key, "DELETE", `/v1/members/${member.id}`), 200);
      expect(cancelled).toEqual({ ...member, status: "cancelled", updated_at: now });
      tick();
      expect(await h.ok<MemberJson>(h.request(key, "DELETE", `/v1/members/${member.id}`), 200)).toEqual(cancelled);
      expect(await h.eventTypes(shop.id, member.id)).toEqual(["member.created", "member.cancelled"]);
      const [, event] = await h.events(shop.id, member.id);
      expect(event?.data).toEqual({ member: cancelled });

      const before = await h.stateOf(shop.id);
      const refused = await h.request(key, "PATCH", `/v1/members/${member.id}`, { given_name: "Back" });
      expect(expectProblem(refused, 422, "invalid_field_value").detail).toContain("cancelled");
      expectProblem(
        await h.request(key, "PATCH", `/v1/members/${member.id}`, { status: "active" }),
        422,
        "invalid_field_value",
      );
      expectProblem(await h.request(key, "POST", `/v1/members/${member.id}/join`), 422, "invalid_field_value");
      expectProblem(
        await h.upsert(key, "email", "gone@example.com", { given_name: "Back" }),
        422,
        "invalid_field_value",
      );
      expect(await h.stateOf(shop.id)).toEqual(before);
      expect(await h.get(key, member.id)).toEqual(cancelled);

      // The identifier stays with the cancelled member: no one else can take it silently.
      const taken = await h.request(key, "POST", "/v1/members", {
        identifiers: [{ kind: "email", value: "gone@example.com" }],
      });
      expect(expectProblem(taken, 409, "identifier_taken").member_id).toBe(member.id);
    });

    it("creates one member for one Idempotency-Key", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const headers = { ...bearer(key), "idempotency-key": "signup-42" };
      const payload = { identifiers: [{ kind: "email", value: "idem@example.com" }] };
      const first = await t().app.inject({ method: "POST", url: "/v1/members", headers, payload });
      const again = await t().app.inject({ method: "POST", url: "/v1/members", headers, payload });
      expect(first.statusCode, first.body).toBe(201);
      expect(again.statusCode).toBe(201);
      expect(again.headers["idempotent-replayed"]).toBe("true");
      expect(again.body).toBe(first.body);
      expect(await h.countRows("members", shop.id)).toBe(1);
      const other = await t().app.inject({ method: "POST", url: "/v1/members", headers, payload: {} });
      expectProblem(other, 409, "idempotency_key_reused");
    });

    it("answers 404 member_not_found for unknown ids on every member route", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const unknown = "mem_01JD3M8Q6V9KX2T4R7B5N0CZHF";
      const before = await h.stateOf(shop.id);
      for (const [method, url, body] of memberRoutes(unknown)) {
        expectProblem(await h.request(key, method, url, body), 404, "member_not_found");
      }
      expect(await h.stateOf(shop.id)).toEqual(before);
    });
  });

  describe("listing and search", () => {
    async function listingShop() {
      const shop = await createShop(t(), { defaultCountry: "DE" });
      const key = shop.secretKey;
      const start = t().clock.now().getTime();
      const at = (minutes: number) => new Date(start + minutes * minute).toISOString();
      t().clock.set(at(1));
      const ana = await h.create(key, {
        identifiers: [{ kind: "email", value: "Ana.Silva@Example.com" }],
        given_name: "Ana",
        family_name: "Silva",
      });
      t().clock.set(at(2));
      const bob = await h.create(key, {
        status: "guest",
        identifiers: [
          { kind: "email", value: "bob@example.com" },
          { kind: "phone", value: "0151 12345678" },
        ],
        given_name: "Bob",
        family_name: "Anders",
      });
      t().clock.set(at(3));
      const elodie = await h.create(key, {
        identifiers: [{ kind: "email", value: "elodie@example.fr" }],
        given_name: "Élodie",
        family_name: "Özdemir",
      });
      await h.patch(key, elodie.id, { status: "suspended" });
      t().clock.set(at(4));
      const taro = await h.create(key, {
        identifiers: [
          { kind: "phone", value: "+81 90-1234-5678" },
          { kind: "whatsapp", value: "4915199999999" },
        ],
        given_name: "太郎",
        family_name: "山田",
      });
      t().clock.set(at(5));
      const anabel = await h.create(key, {
        identifiers: [{ kind: "email", value: "anabel_50%@example.com" }],
        given_name: "Zoe",
      });
      return { key, at, ana, bob, elodie, taro, anabel };
    }

    it("lists newest first over several pages", async () => {
      const { key, ana, bob, elodie, taro, anabel } = await listingShop();
      const seen: string[] = [];
      let url = "limit=2";
      let pages = 0;
      for (;;) {
        const page = await h.list(key, url);
        pages += 1;
        expect(page.data.length).toBeLessThanOrEqual(2);
        expect(page.has_more).toBe(page.next_cursor !== null);
        seen.push(...ids(page));
        if (page.next_cursor === null) break;
        url = `limit=2&cursor=${page.next_cursor}`;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual([anabel.id, taro.id, elodie.id, bob.id, ana.id]);

      const all = await h.list(key, "");
      expect(ids(all)).toEqual(seen);
      expect(all.has_more).toBe(false);
      expect(all.data[3]).toEqual(await h.get(key, bob.id));
    });

    it("filters by status and creation time", async () => {
      const { key, at, ana, bob, elodie, taro, anabel } = await listingShop();
      expect(ids(await h.list(key, "status=guest"))).toEqual([bob.id]);
      expect(ids(await h.list(key, "status=suspended"))).toEqual([elodie.id]);
      expect(ids(await h.list(key, "status=active"))).toEqual([anabel.id, taro.id, ana.id]);
      expect(ids(await h.list(key, "status=cancelled"))).toEqual([]);

      const from = encodeURIComponent(at(2));
      const to = encodeURIComponent(at(4));
      expect(ids(await h.list(key, `created_from=${from}&created_to=${to}`))).toEqual([elodie.id, bob.id]);
      // The same instants with a +02:00 offset.
      const plusTwo = (iso: string) =>
        encodeURIComponent(new Date(new Date(iso).getTime() + 120 * minute).toISOString().replace("Z", "+02:00"));
      expect(ids(await h.list(key, `created_from=${plusTwo(at(2))}&created_to=${plusTwo(at(4))}`))).toEqual([
        elodie.id,
        bob.id,
      ]);
      expect(ids(await h.list(key, `created_from=${encodeURIComponent(at(4))}&status=active`))).toEqual([
        anabel.id,
        taro.id,
      ]);

      const first = await h.list(key, `created_to=${encodeURIComponent(at(5))}&limit=1`);
      expect(ids(first)).toEqual([taro.id]);
      const second = await h.list(key, `created_to=${encodeURIComponent(at(5))}&limit=3&cursor=${first.next_cursor}`);
      expect(ids(second)).toEqual([elodie.id, bob.id, ana.id]);
      expect(second.next_cursor).toBeNull();
    });

    it("searches by email prefix, phone digits and name prefix, case-insensitively for ASCII", async () => {
      const { key, ana, bob, elodie, taro, anabel } = await listingShop();
      const search = async (q: string) => ids(await h.list(key, `q=${encodeURIComponent(q)}`));

      expect(await search("ana")).toEqual([anabel.id, ana.id]);
      expect(await search("ANA")).toEqual([anabel.id, ana.id]);
      expect(await search("  Ana.S ")).toEqual([ana.id]);
      expect(await search("ana.silva@example.com")).toEqual([ana.id]);
      expect(await search("example.com")).toEqual([]);
      expect(await search("sil")).toEqual([ana.id]);
      expect(await search("SILVA")).toEqual([ana.id]);
      expect(await search("and")).toEqual([bob.id]);
      expect(await search("bo")).toEqual([bob.id]);
      // Phones are searched by the digits after the +, with or without the +.
      expect(await search("4915")).toEqual([bob.id]);
      expect(await search("+49151")).toEqual([bob.id]);
      expect(await search("8190")).toEqual([taro.id]);
      expect(await search("49151999")).toEqual([]);
      // Names in other scripts, as written.
      expect(await search("Élo")).toEqual([elodie.id]);
      expect(await search("Öz")).toEqual([elodie.id]);
      expect(await search("山田")).toEqual([taro.id]);
      expect(await search("太")).toEqual([taro.id]);
      // LIKE wildcards in the query are literal characters.
      expect(await search("anabel_50%")).toEqual([anabel.id]);
      expect(await search("a_a")).toEqual([]);
      expect(await search("%")).toEqual([]);
      expect(await search("_")).toEqual([]);

      const page = await h.list(key, "q=ana&limit=1");
      expect(ids(page)).toEqual([anabel.id]);
      expect(ids(await h.list(key, `q=ana&limit=1&cursor=${page.next_cursor}`))).toEqual([ana.id]);
      expect(ids(await h.list(key, "q=ana&status=guest"))).toEqual([]);
    });

    it("refuses bad list queries", async () => {
      const { secretKey: key } = await createShop(t());
      for (const query of [
        "limit=0",
        "limit=101",
        "limit=abc",
        "status=deleted",
        "created_from=yesterday",
        "q=",
        `q=${"a".repeat(101)}`,
        "sort=name",
      ]) {
        expectProblem(await h.request(key, "GET", `/v1/members?${query}`), 400, "validation_failed");
      }
      expectProblem(await h.request(key, "GET", "/v1/members?cursor=bm9wZQ"), 400, "invalid_cursor");
    });
  });

  describe("upsert by identifier", () => {
    it("creates (201), then finds (200) and applies the profile and extra identifiers", async () => {
      const { shop, secretKey: key } = await createShop(t(), { defaultCountry: "BR" });
      const now = tick();
      const created = await h.upsert(key, "email", "Ana@Example.com", { given_name: "Ana", country: "BR" });
      expect(created.statusCode, created.body).toBe(201);
      const member = created.json() as MemberJson;
      expect(member).toMatchObject({
        status: "active",
        email: "ana@example.com",
        given_name: "Ana",
        country: "BR",
        identifiers: [{ kind: "email", value: "ana@example.com", verified_at: null, created_at: now }],
        created_at: now,
      });

      const later = tick();
      const found = await h.upsert(key, "email", "ana@example.com", {
        family_name: "Silva",
        identifiers: [
          { kind: "phone", value: "(11) 91234-5678" },
          { kind: "shopify", value: "gid://shopify/Customer/555" },
        ],
      });
      expect(found.statusCode, found.body).toBe(200);
      expect(found.json()).toEqual({
        ...member,
        family_name: "Silva",
        phone: "+5511912345678",
        identifiers: [
          member.identifiers[0],
          { kind: "phone", value: "+5511912345678", verified_at: null, created_at: later },
          { kind: "shopify", value: "555", verified_at: null, created_at: later },
        ],
        updated_at: later,
      });
      // Found through any of its identifiers; an absent body changes nothing.
      for (const [kind, value] of [
        ["phone", "+55 11 91234-5678"],
        ["shopify", "555"],
      ] as const) {
        const again = await h.upsert(key, kind, value);
        expect(again.statusCode, again.body).toBe(200);
        expect(again.json()).toEqual(found.json());
      }
      expect(await h.eventTypes(shop.id)).toEqual(["member.created", "member.updated"]);
      expect(await h.countRows("members", shop.id)).toBe(1);
    });

    it("takes the status of a new member from the body or the enrollment mode", async () => {
      const { secretKey: key } = await createShop(t(), { enrollmentMode: "opt_in" });
      expect(await h.ok(h.upsert(key, "external", "crm-1"), 201)).toMatchObject({ status: "guest", joined_at: null });
      expect(await h.ok(h.upsert(key, "external", "crm-2", { status: "active" }), 201)).toMatchObject({
        status: "active",
      });
      // The status only applies to a member it creates.
      expect(await h.ok(h.upsert(key, "external", "crm-1", { status: "active" }), 200)).toMatchObject({
        status: "guest",
      });
    });

    it("refuses an identifier of another member with 409 identifier_taken and changes nothing", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const ana = await h.ok<MemberJson>(h.upsert(key, "email", "ana@example.com", { given_name: "Ana" }), 201);
      const bob = await h.ok<MemberJson>(
        h.upsert(key, "email", "bob@example.com", { identifiers: [{ kind: "phone", value: "+12133734253" }] }),
        201,
      );
      const before = await h.stateOf(shop.id);

      const onFind = await h.upsert(key, "email", "ana@example.com", {
        given_name: "Changed",
        identifiers: [
          { kind: "external", value: "new-one" },
          { kind: "phone", value: "+1 (213) 373-4253" },
        ],
      });
      const problem = expectProblem(onFind, 409, "identifier_taken");
      expect(problem.member_id).toBe(bob.id);
      expect(problem.detail).toContain(bob.id);
      expect(pointersOf(problem)).toEqual(["/body/identifiers/1/value"]);

      const onCreate = await h.upsert(key, "email", "carla@example.com", {
        identifiers: [{ kind: "email", value: "BOB@example.com" }],
      });
      const createProblem = expectProblem(onCreate, 409, "identifier_taken");
      expect(createProblem.member_id).toBe(bob.id);
      expect(pointersOf(createProblem)).toEqual(["/body/identifiers/0/value"]);

      const onPatch = await h.request(key, "PATCH", `/v1/members/${ana.id}`, {
        given_name: "Changed",
        identifiers: [{ kind: "email", value: "bob@example.com" }],
      });
      expect(expectProblem(onPatch, 409, "identifier_taken").member_id).toBe(bob.id);

      expect(await h.stateOf(shop.id)).toEqual(before);
      expect(await h.get(key, ana.id)).toEqual(ana);
    });

    it("creates exactly one member for 10 concurrent upserts of the same new email", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const spellings = [
        "Mia@Example.com",
        "mia@example.com",
        " MIA@EXAMPLE.COM",
        "mia@Example.COM",
        "Mia@example.com",
      ];
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          h.upsert(key, "email", spellings[index % spellings.length] ?? "", { given_name: "Mia" }),
        ),
      );
      for (const response of responses) expect([200, 201], response.body).toContain(response.statusCode);
      for (const response of responses) expect(response.json()).toMatchObject({ given_name: "Mia" });
      expect(responses.map((response) => response.statusCode).sort()).toEqual([...Array(9).fill(200), 201]);
      const memberIds = new Set(responses.map((response) => (response.json() as MemberJson).id));
      expect(memberIds.size).toBe(1);
      expect(await h.countRows("members", shop.id)).toBe(1);
      expect(await h.countRows("member_identifiers", shop.id)).toBe(1);
      expect(await h.countRows("point_accounts", shop.id)).toBe(1);
      expect(await h.eventTypes(shop.id)).toEqual(["member.created"]);
      const [id] = memberIds;
      expect(await h.get(key, id ?? "")).toMatchObject({ email: "mia@example.com", given_name: "Mia" });
    });

    it("answers 409 identifier_taken, never 500, when creates and updates race for one identifier", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const created = await Promise.all(
        Array.from({ length: 6 }, () =>
          h.request(key, "POST", "/v1/members", { identifiers: [{ kind: "email", value: "race@example.com" }] }),
        ),
      );
      const winners = created.filter((response) => response.statusCode === 201);
      expect(winners, created.map((response) => response.body).join("\n")).toHaveLength(1);
      const holder = (winners[0]?.json() as MemberJson | undefined)?.id;
      for (const response of created.filter((candidate) => candidate.statusCode !== 201)) {
        expect(expectProblem(response, 409, "identifier_taken").member_id).toBe(holder);
      }

      const others = await Promise.all(Array.from({ length: 6 }, () => h.create(key)));
      const updated = await Promise.all(
        others.map((member) =>
          h.request(key, "PATCH", `/v1/members/${member.id}`, {
            given_name: "Racer",
            identifiers: [{ kind: "phone", value: "+12133734253" }],
          }),
        ),
      );
      const patched = updated.filter((response) => response.statusCode === 200);
      expect(patched, updated.map((response) => response.body).join("\n")).toHaveLength(1);
      const phoneHolder = (patched[0]?.json() as MemberJson | undefined)?.id;
      for (const response of updated.filter((candidate) => candidate.statusCode !== 200)) {
        expect(expectProblem(response, 409, "identifier_taken").member_id).toBe(phoneHolder);
      }
      const rows = await t()
        .database.db.selectFrom("members")
        .select(["id", "given_name"])
        .where("shop_id", "=", shop.id)
        .where("given_name", "=", "Racer")
        .execute();
      expect(rows.map((row) => row.id)).toEqual([phoneHolder]);
      expect(await h.countRows("member_identifiers", shop.id)).toBe(2);
    });

    it("creates one member per identifier when different new identifiers race", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, index) => h.upsert(key, "external", `race-${index % 5}`)),
      );
      const bodies = responses.map((response) => `${response.statusCode} ${response.body}`).join("\n");
      expect(
        responses.filter((response) => response.statusCode === 201),
        bodies,
      ).toHaveLength(5);
      expect(
        responses.filter((response) => response.statusCode === 200),
        bodies,
      ).toHaveLength(5);
      expect(await h.countRows("members", shop.id)).toBe(5);
      expect(await h.countRows("member_identifiers", shop.id)).toBe(5);
    });
  });

  describe("progressive profile", () => {
    async function completions(shopId: string, memberId: string): Promise<number> {
      return (await h.eventTypes(shopId, memberId)).filter((type) => type === "profile.completed").length;
    }

    it("emits profile.completed once, when contact, name, birthday, country and required attributes are all set", async () => {
      const { shop, secretKey: key } = await createShop(t());
      await h.defineAttribute(key, "shoe_size", { type: "number", label: "Shoe size", required: true });
      await h.defineAttribute(key, "nickname", { type: "string", label: "Nickname" });
      const member = await h.create(key, { identifiers: [{ kind: "whatsapp", value: "4915112345678" }] });
      const steps: Json[] = [
        { given_name: "Lena" },
        { birthday: { month: 2, day: 29 } },
        { country: "DE" },
        { attributes: { nickname: "L" } },
        { attributes: { shoe_size: 39 } },
      ];
      for (const step of steps) {
        tick();
        const updated = await h.patch(key, member.id, step);
        expect(updated.profile_completed_at, JSON.stringify(step)).toBeNull();
      }
      expect(await completions(shop.id, member.id)).toBe(0);

      // A WhatsApp id alone does not count as a way to reach the member; an email does.
      const completedAt = tick();
      const complete = await h.patch(key, member.id, { identifiers: [{ kind: "email", value: "lena@example.de" }] });
      expect(complete.profile_completed_at).toBe(completedAt);
      expect(complete.birthday).toEqual({ month: 2, day: 29, year: null });
      expect(await completions(shop.id, member.id)).toBe(1);
      const event = (await h.events(shop.id, member.id)).find((row) => row.type === "profile.completed");
      expect(event?.data).toEqual({ member: complete });

      for (const step of [
        { family_name: "Vogel" },
        { country: null },
        { country: "AT" },
        { attributes: { shoe_size: null } },
        { attributes: { shoe_size: 40 } },
      ]) {
        tick();
        const updated = await h.patch(key, member.id, step);
        expect(updated.profile_completed_at).toBe(completedAt);
      }
      expect(await completions(shop.id, member.id)).toBe(1);
    });

    it("completes on create or upsert when everything comes at once", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const profile = { given_name: "Ana", birthday: { month: 1, day: 31, year: 2000 }, country: "PT" };
      const created = await h.create(key, { identifiers: [{ kind: "phone", value: "+351 912 345 678" }], ...profile });
      expect(created.profile_completed_at).toBe(created.created_at);
      expect(await h.eventTypes(shop.id, created.id)).toEqual(["member.created", "profile.completed"]);

      const upserted = await h.ok<MemberJson>(h.upsert(key, "email", "ana@example.pt", profile), 201);
      expect(upserted.profile_completed_at).toBe(upserted.created_at);
      expect(await h.eventTypes(shop.id, upserted.id)).toEqual(["member.created", "profile.completed"]);

      tick();
      await h.ok(h.upsert(key, "email", "ana@example.pt", { family_name: "Costa" }), 200);
      expect(await h.eventTypes(shop.id, upserted.id)).toEqual([
        "member.created",
        "profile.completed",
        "member.updated",
      ]);
    });

    it("accepts Feb 29 without a year or in a leap year and refuses impossible dates", async () => {
      const { shop, secretKey: key } = await createShop(t());
      expect((await h.create(key, { birthday: { month: 2, day: 29 } })).birthday).toEqual({
        month: 2,
        day: 29,
        year: null,
      });
      expect((await h.create(key, { birthday: { month: 2, day: 29, year: 2000 } })).birthday).toEqual({
        month: 2,
        day: 29,
        year: 2000,
      });
      expect((await h.create(key, { birthday: { month: 2, day: 29, year: null } })).birthday).toEqual({
        month: 2,
        day: 29,
        year: null,
      });
      const member = await h.create(key, { birthday: { month: 12, day: 31 } });

      const before = await h.stateOf(shop.id);
      for (const birthday of [
        { month: 2, day: 29, year: 1999 },
        { month: 2, day: 29, year: 1900 },
        { month: 2, day: 30 },
        { month: 4, day: 31 },
        { month: 11, day: 31, year: 1985 },
      ]) {
        const created = await h.request(key, "POST", "/v1/members", { birthday });
        const problem = expectProblem(created, 422, "invalid_field_value");
        expect(pointersOf(problem), JSON.stringify(birthday)).toEqual(["/body/birthday/day"]);
        const updated = await h.request(key, "PATCH", `/v1/members/${member.id}`, { birthday });
        expect(pointersOf(expectProblem(updated, 422, "invalid_field_value"))).toEqual(["/body/birthday/day"]);
      }
      for (const birthday of [
        { month: 13, day: 1 },
        { month: 0, day: 1 },
        { month: 1, day: 32 },
        { month: 1, day: 0 },
        { month: 1, day: 1, year: 1899 },
        { month: 1.5, day: 1 },
        { month: "1", day: 1 },
        { day: 1 },
        { month: 1, day: 1, age: 30 },
      ]) {
        const created = await h.request(key, "POST", "/v1/members", { birthday });
        expect(created.statusCode, JSON.stringify(birthday)).toBe(400);
      }
      expect(await h.stateOf(shop.id)).toEqual(before);
    });
  });

  describe("custom attributes", () => {
    it("defines, relabels, lists and deletes attributes; the type cannot change", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const definedAt = t().clock.now().toISOString();
      expect(await h.defineAttribute(key, "shoe_size", { type: "number", label: "Shoe size" })).toEqual({
        object: "member_attribute",
        key: "shoe_size",
        type: "number",
        label: "Shoe size",
        required: false,
        created_at: definedAt,
        updated_at: definedAt,
      });
      const relabeledAt = tick();
      const relabeled = await h.defineAttribute(key, "shoe_size", {
        type: "number",
        label: "Shoe size (EU)",
        required: true,
      });
      expect(relabeled).toEqual({
        object: "member_attribute",
        key: "shoe_size",
        type: "number",
        label: "Shoe size (EU)",
        required: true,
        created_at: definedAt,
        updated_at: relabeledAt,
      });

      const before = await h.stateOf(shop.id);
      const retyped = await h.request(key, "PUT", "/v1/member-attributes/shoe_size", {
        type: "string",
        label: "Shoe size",
      });
      const problem = expectProblem(retyped, 422, "invalid_field_value");
      expect(pointersOf(problem)).toEqual(["/body/type"]);
      expect(problem.detail).toContain("number");
      expect(await h.stateOf(shop.id)).toEqual(before);

      await h.defineAttribute(key, "anniversary", { type: "date", label: "Anniversary", required: false });
      await h.defineAttribute(key, "vip", { type: "boolean", label: "VIP" });
      const listed = await h.ok<{ object: string; data: Json[] }>(h.request(key, "GET", "/v1/member-attributes"), 200);
      expect(listed.object).toBe("list");
      expect(listed.data.map((definition) => [definition.key, definition.type, definition.required])).toEqual([
        ["anniversary", "date", false],
        ["shoe_size", "number", true],
        ["vip", "boolean", false],
      ]);

      const deleted = await h.request(key, "DELETE", "/v1/member-attributes/vip");
      expect(deleted.statusCode, deleted.body).toBe(204);
      expect(deleted.body).toBe("");
      const again = await h.request(key, "DELETE", "/v1/member-attributes/vip");
      expect(pointersOf(expectProblem(again, 422, "invalid_field_value"))).toEqual(["/params/key"]);
      // Deleted, it may be defined afresh with another type.
      expect(await h.defineAttribute(key, "vip", { type: "string", label: "VIP tier" })).toMatchObject({
        type: "string",
      });

      for (const name of ["Shoe-Size", "1st", "_x", `a${"b".repeat(50)}`]) {
        const response = await h.request(key, "PUT", `/v1/member-attributes/${name}`, { type: "string", label: "x" });
        expect(pointersOf(expectProblem(response, 400, "validation_failed"))).toEqual(["/params/key"]);
      }
      for (const body of [
        { type: "text", label: "x" },
        { type: "string" },
        { type: "string", label: "" },
        { type: "string", label: "x", required: "yes" },
        { type: "string", label: "x", options: ["a"] },
        { type: "string", label: "x".repeat(201) },
      ]) {
        const response = await h.request(key, "PUT", "/v1/member-attributes/new_one", body);
        expect(response.statusCode, JSON.stringify(body)).toBe(400);
      }
      const after = await h.ok<{ data: Json[] }>(h.request(key, "GET", "/v1/member-attributes"), 200);
      expect(after.data.map((definition) => definition.key)).toEqual(["anniversary", "shoe_size", "vip"]);
    });

    it("type-checks member attribute values and refuses unknown attributes", async () => {
      const { shop, secretKey: key } = await createShop(t());
      await h.defineAttribute(key, "shoe_size", { type: "number", label: "Shoe size" });
      await h.defineAttribute(key, "favorite_drink", { type: "string", label: "Favorite drink" });
      await h.defineAttribute(key, "newsletter", { type: "boolean", label: "Newsletter" });
      await h.defineAttribute(key, "anniversary", { type: "date", label: "Anniversary" });

      const attributes = {
        shoe_size: 42.5,
        favorite_drink: "flat white",
        newsletter: false,
        anniversary: "2024-02-29",
      };
      const member = await h.create(key, { attributes });
      expect(member.attributes).toEqual(attributes);

      const before = await h.stateOf(shop.id);
      const wrong: Array<[Json, string[]]> = [
        [{ shoe_size: "42" }, ["/body/attributes/shoe_size"]],
        [{ favorite_drink: 5 }, ["/body/attributes/favorite_drink"]],
        [{ favorite_drink: "x".repeat(1001) }, ["/body/attributes/favorite_drink"]],
        [{ newsletter: "yes" }, ["/body/attributes/newsletter"]],
        [{ newsletter: 1 }, ["/body/attributes/newsletter"]],
        [{ anniversary: "17.05.2020" }, ["/body/attributes/anniversary"]],
        [{ anniversary: "2023-02-29" }, ["/body/attributes/anniversary"]],
        [{ anniversary: "2026-04-31" }, ["/body/attributes/anniversary"]],
        [{ anniversary: "2026-13-01" }, ["/body/attributes/anniversary"]],
        [{ anniversary: "2026-01-01T00:00:00Z" }, ["/body/attributes/anniversary"]],
        [{ shoe_size: { eu: 42 } }, ["/body/attributes/shoe_size"]],
        [{ eye_color: "blue" }, ["/body/attributes/eye_color"]],
        [
          { shoe_size: true, eye_color: "blue", newsletter: true },
          ["/body/attributes/eye_color", "/body/attributes/shoe_size"],
        ],
      ];
      for (const [values, pointers] of wrong) {
        const created = await h.request(key, "POST", "/v1/members", { attributes: values });
        const problem = expectProblem(created, 422, "invalid_field_value");
        expect(pointersOf(problem), JSON.stringify(values)).toEqual(pointers);
        const updated = await h.request(key, "PATCH", `/v1/members/${member.id}`, { attributes: values });
        expect(pointersOf(expectProblem(updated, 422, "invalid_field_value"))).toEqual(pointers);
        const upserted = await h.upsert(key, "email", "someone@example.com", { attributes: values });
        expect(pointersOf(expectProblem(upserted, 422, "invalid_field_value"))).toEqual(pointers);
      }
      expect(await h.stateOf(shop.id)).toEqual(before);
      const unknown = await h.request(key, "POST", "/v1/members", { attributes: { eye_color: "blue" } });
      expect(expectProblem(unknown, 422, "invalid_field_value").detail).toContain("not an attribute this shop defines");

      // Values merge: given keys change, null removes one, the rest stay.
      const merged = await h.patch(key, member.id, { attributes: { shoe_size: 43, favorite_drink: null } });
      expect(merged.attributes).toEqual({ shoe_size: 43, newsletter: false, anniversary: "2024-02-29" });

      // A deleted definition: members keep their values, and no one can set it any more.
      expect((await h.request(key, "DELETE", "/v1/member-attributes/shoe_size")).statusCode).toBe(204);
      expect((await h.get(key, member.id)).attributes).toEqual(merged.attributes);
      const stale = await h.request(key, "PATCH", `/v1/members/${member.id}`, { attributes: { shoe_size: 44 } });
      expect(pointersOf(expectProblem(stale, 422, "invalid_field_value"))).toEqual(["/body/attributes/shoe_size"]);
    });
  });

  describe("consent", () => {
    it("grants nothing by default", async () => {
      const { secretKey: key } = await createShop(t());
      const member = await h.create(key, { identifiers: [{ kind: "email", value: "c@example.com" }] });
      expect(await h.ok(h.request(key, "GET", `/v1/members/${member.id}/consents`), 200)).toEqual({
        object: "member_consents",
        member_id: member.id,
        purposes: purposes.map((purpose) => ({ purpose, granted: false, latest: null })),
      });
      expect(await h.ok(h.request(key, "GET", `/v1/members/${member.id}/consents/history`), 200)).toEqual({
        data: [],
        has_more: false,
        next_cursor: null,
      });
    });

    it("records every change with its evidence; the latest wins; history keeps all, newest first", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const member = await h.create(key);
      const grantedAt = tick();
      const granted = await h.recordConsents(key, member.id, {
        changes: [
          {
            purpose: "email_marketing",
            granted: true,
            channel: "web",
            source: "checkout_checkbox",
            wording_version: "2026-01",
          },
          { purpose: "sms_marketing", granted: true, channel: "web", source: "checkout_checkbox" },
        ],
        ip_address: "203.0.113.7",
        user_agent: "Mozilla/5.0 (LaurelTest)",
      });
      const emailGrant = {
        id: expect.stringMatching(/^cns_[0-9A-Z]{26}$/),
        purpose: "email_marketing",
        channel: "web",
        status: "granted",
        source: "checkout_checkbox",
        wording_version: "2026-01",
        ip_address: "203.0.113.7",
        user_agent: "Mozilla/5.0 (LaurelTest)",
        recorded_at: grantedAt,
      };
      expect(granted).toEqual({
        object: "member_consents",
        member_id: member.id,
        purposes: [
          { purpose: "email_marketing", granted: true, latest: emailGrant },
          {
            purpose: "sms_marketing",
            granted: true,
            latest: { ...emailGrant, purpose: "sms_marketing", wording_version: null },
          },
          { purpose: "whatsapp_marketing", granted: false, latest: null },
          { purpose: "profiling", granted: false, latest: null },
          { purpose: "data_processing", granted: false, latest: null },
        ],
      });

      const withdrawnAt = tick();
      const withdrawn = await h.recordConsents(key, member.id, {
        changes: [{ purpose: "email_marketing", granted: false, channel: "email", source: "unsubscribe_link" }],
      });
      expect(withdrawn.purposes[0]).toEqual({
        purpose: "email_marketing",
        granted: false,
        latest: {
          id: expect.stringMatching(/^cns_/),
          purpose: "email_marketing",
          channel: "email",
          status: "withdrawn",
          source: "unsubscribe_link",
          wording_version: null,
          ip_address: null,
          user_agent: null,
          recorded_at: withdrawnAt,
        },
      });
      expect(withdrawn.purposes[1]).toEqual(granted.purposes[1]);
      expect(await h.ok(h.request(key, "GET", `/v1/members/${member.id}/consents`), 200)).toEqual(withdrawn);

      // Two changes of one purpose in one request: the later one is current.
      tick();
      const both = await h.recordConsents(key, member.id, {
        changes: [
          { purpose: "profiling", granted: true, channel: "app", source: "onboarding" },
          { purpose: "profiling", granted: false, channel: "app", source: "onboarding" },
        ],
      });
      expect(both.purposes[3]).toMatchObject({ purpose: "profiling", granted: false, latest: { status: "withdrawn" } });

      const history = await h.ok<PageJson<ConsentJson>>(
        h.request(key, "GET", `/v1/members/${member.id}/consents/history`),
        200,
      );
      expect(history.data.map((record) => [record.purpose, record.status])).toEqual([
        ["profiling", "withdrawn"],
        ["profiling", "granted"],
        ["email_marketing", "withdrawn"],
        ["sms_marketing", "granted"],
        ["email_marketing", "granted"],
      ]);
      expect(history.data[4]).toEqual({ ...emailGrant, id: granted.purposes[0]?.latest?.id });
      const paged: string[] = [];
      let url = `/v1/members/${member.id}/consents/history?limit=2`;
      for (;;) {
        const page = await h.ok<PageJson<ConsentJson>>(h.request(key, "GET", url), 200);
        paged.push(...ids(page));
        if (!page.next_cursor) break;
        url = `/v1/members/${member.id}/consents/history?limit=2&cursor=${page.next_cursor}`;
      }
      expect(paged).toEqual(ids(history));

      // consent.updated events carry no IP address or user agent.
      const events = (await h.events(shop.id, member.id)).filter((event) => event.type === "consent.updated");
      expect(events).toHaveLength(5);
      expect(events[0]?.data).toEqual({
        member_id: member.id,
        purpose: "email_marketing",
        granted: true,
        channel: "web",
        source: "checkout_checkbox",
        wording_version: "2026-01",
        recorded_at: grantedAt,
      });
      for (const event of events) {
        expect(event.payload).not.toContain("203.0.113.7");
        expect(event.payload).not.toContain("Mozilla");
        expect(Object.keys(event.data)).not.toContain("ip_address");
        expect(Object.keys(event.data)).not.toContain("user_agent");
      }
    });

    it("records a withdrawal for a cancelled member", async () => {
      const { secretKey: key } = await createShop(t());
      const member = await h.create(key);
      await h.recordConsents(key, member.id, {
        changes: [{ purpose: "email_marketing", granted: true, channel: "web", source: "signup" }],
      });
      await h.ok(h.request(key, "DELETE", `/v1/members/${member.id}`), 200);
      const after = await h.recordConsents(key, member.id, {
        changes: [{ purpose: "email_marketing", granted: false, channel: "email", source: "unsubscribe_link" }],
      });
      expect(after.purposes[0]).toMatchObject({ granted: false });
    });

    it("refuses bad consent changes and records nothing", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const member = await h.create(key);
      const before = await h.stateOf(shop.id);
      const change = { purpose: "email_marketing", granted: true, channel: "web", source: "form" };
      const bad: Array<[Json, string[]]> = [
        [{ changes: [] }, ["/body/changes"]],
        [{}, ["/body/changes"]],
        [{ changes: [{ ...change, purpose: "phone_calls" }] }, ["/body/changes/0/purpose"]],
        [{ changes: [{ ...change, channel: "carrier_pigeon" }] }, ["/body/changes/0/channel"]],
        [{ changes: [{ ...change, granted: "yes" }] }, ["/body/changes/0/granted"]],
        [{ changes: [{ ...change, source: "" }] }, ["/body/changes/0/source"]],
        [{ changes: [{ ...change, source: "x".repeat(201) }] }, ["/body/changes/0/source"]],
        [{ changes: [{ ...change, ip_address: "1.2.3.4" }] }, ["/body/changes/0/ip_address"]],
        [{ changes: [change], ip_address: "x".repeat(46) }, ["/body/ip_address"]],
        [{ changes: [change], user_agent: "x".repeat(501) }, ["/body/user_agent"]],
        [{ changes: Array(11).fill(change) }, ["/body/changes"]],
        [{ changes: [change], note: "hi" }, ["/body/note"]],
      ];
      for (const [body, pointers] of bad) {
        const response = await h.request(key, "POST", `/v1/members/${member.id}/consents`, body);
        expect(pointersOf(expectProblem(response, 400, "validation_failed")), JSON.stringify(body)).toEqual(pointers);
      }
      expect(await h.stateOf(shop.id)).toEqual(before);
    });
  });

  describe("join and claim", () => {
    it("lets a guest join once; an active member joining changes nothing", async () => {
      const { shop, secretKey: key } = await createShop(t(), { enrollmentMode: "opt_in" });
      const guest = await h.create(key, { identifiers: [{ kind: "email", value: "g@example.com" }] });
      expect(guest).toMatchObject({ status: "guest", joined_at: null });
      const joinedAt = tick();
      const joined = await h.ok<MemberJson>(h.request(key, "POST", `/v1/members/${guest.id}/join`), 200);
      expect(joined).toEqual({ ...guest, status: "active", joined_at: joinedAt, updated_at: joinedAt });
      const events = await h.events(shop.id, guest.id);
      expect(events.map((event) => event.type)).toEqual(["member.created", "member.joined"]);
      expect(events[1]?.data).toEqual({ member: joined });

      tick();
      const before = await h.stateOf(shop.id);
      expect(await h.ok(h.request(key, "POST", `/v1/members/${guest.id}/join`, {}), 200)).toEqual(joined);
      const active = await h.create(key, { status: "active" });
      const beforeActive = await h.stateOf(shop.id);
      expect(await h.ok(h.request(key, "POST", `/v1/members/${active.id}/join`), 200)).toEqual(active);
      expect(await h.stateOf(shop.id)).toEqual(beforeActive);
      expect(before.outbox.length + 1).toBe(beforeActive.outbox.length);
    });

    it("refuses joining for suspended and cancelled members", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const suspended = await h.create(key);
      await h.patch(key, suspended.id, { status: "suspended" });
      const cancelled = await h.create(key);
      await h.ok(h.request(key, "DELETE", `/v1/members/${cancelled.id}`), 200);
      const before = await h.stateOf(shop.id);
      for (const id of [suspended.id, cancelled.id]) {
        const refused = await h.request(key, "POST", `/v1/members/${id}/join`);
        expect(expectProblem(refused, 422, "invalid_field_value").detail).toContain("only guests");
      }
      expect(await h.stateOf(shop.id)).toEqual(before);
    });

    it("lets a guest claim with a verified email: the identifier is verified and the guest active", async () => {
      const { shop, secretKey: key } = await createShop(t(), { enrollmentMode: "opt_in", defaultCountry: "JP" });
      const guest = await h.create(key, { identifiers: [{ kind: "email", value: "yui@example.jp" }] });
      const claimedAt = tick();
      const claimed = await h.ok<MemberJson>(
        h.request(key, "POST", `/v1/members/${guest.id}/claim`, { kind: "email", value: " YUI@example.jp" }),
        200,
      );
      expect(claimed).toEqual({
        ...guest,
        status: "active",
        joined_at: claimedAt,
        identifiers: [{ kind: "email", value: "yui@example.jp", verified_at: claimedAt, created_at: guest.created_at }],
        updated_at: claimedAt,
      });
      const events = await h.events(shop.id, guest.id);
      expect(events.map((event) => event.type)).toEqual(["member.created", "member.updated", "member.joined"]);
      expect(events[1]?.data.changed).toEqual(["identifiers"]);
      expect(events[2]?.data).toEqual({ member: claimed });

      // Claiming again, or verifying what is verified, changes nothing and emits nothing.
      tick();
      const again = await h.ok<MemberJson>(
        h.request(key, "POST", `/v1/members/${guest.id}/claim`, { kind: "email", value: "yui@example.jp" }),
        200,
      );
      expect(again).toEqual(claimed);
      expect(
        await h.patch(key, guest.id, { identifiers: [{ kind: "email", value: "yui@example.jp", verified: true }] }),
      ).toEqual(claimed);
      expect(await h.eventTypes(shop.id, guest.id)).toEqual(["member.created", "member.updated", "member.joined"]);

      // A phone not yet linked is added, verified, in the shop's default country.
      const other = await h.create(key);
      const phoneAt = tick();
      const byPhone = await h.ok<MemberJson>(
        h.request(key, "POST", `/v1/members/${other.id}/claim`, { kind: "phone", value: "090-1234-5678" }),
        200,
      );
      expect(byPhone).toMatchObject({
        status: "active",
        phone: "+819012345678",
        identifiers: [{ kind: "phone", value: "+819012345678", verified_at: phoneAt, created_at: phoneAt }],
      });
    });

    it("refuses a claim with another member's identifier or a bad body and changes nothing", async () => {
      const { shop, secretKey: key } = await createShop(t(), { enrollmentMode: "opt_in" });
      const holder = await h.create(key, { identifiers: [{ kind: "email", value: "taken@example.com" }] });
      const guest = await h.create(key);
      const before = await h.stateOf(shop.id);
      const taken = await h.request(key, "POST", `/v1/members/${guest.id}/claim`, {
        kind: "email",
        value: "Taken@example.com",
      });
      const problem = expectProblem(taken, 409, "identifier_taken");
      expect(problem.member_id).toBe(holder.id);
      expect(pointersOf(problem)).toEqual(["/body/identifiers/0/value"]);
      for (const body of [
        { kind: "shopify", value: "123" },
        { kind: "email" },
        { kind: "email", value: "" },
        { kind: "email", value: "a@example.com", verified: true },
      ]) {
        const response = await h.request(key, "POST", `/v1/members/${guest.id}/claim`, body);
        expectProblem(response, 400, "validation_failed");
      }
      const invalid = await h.request(key, "POST", `/v1/members/${guest.id}/claim`, { kind: "email", value: "nope" });
      expectProblem(invalid, 422, "invalid_field_value");
      expect(await h.stateOf(shop.id)).toEqual(before);
    });
  });

  describe("tenant isolation and keys", () => {
    it("answers 404 for another shop's member on every member route and leaves it unchanged", async () => {
      const a = await createShop(t(), { defaultCountry: "DE" });
      const b = await createShop(t(), { defaultCountry: "DE" });
      await h.defineAttribute(a.secretKey, "shoe_size", { type: "number", label: "Shoe size" });
      const member = await h.create(a.secretKey, {
        status: "guest",
        identifiers: [{ kind: "email", value: "anna@example.de" }],
        given_name: "Anna",
        attributes: { shoe_size: 38 },
      });
      await h.recordConsents(a.secretKey, member.id, {
        changes: [{ purpose: "email_marketing", granted: true, channel: "web", source: "signup" }],
      });
      const beforeA = await h.stateOf(a.shop.id);
      const beforeB = await h.stateOf(b.shop.id);

      for (const [method, url, body] of memberRoutes(member.id)) {
        const response = await h.request(b.secretKey, method, url, body);
        const problem = expectProblem(response, 404, "member_not_found");
        expect(Object.keys(problem).sort(), `${method} ${url}`).toEqual([
          "code",
          "detail",
          "request_id",
          "status",
          "title",
          "type",
        ]);
        expect(response.body).not.toContain("anna");
        expect(response.body).not.toContain(a.shop.id);
      }
      expect(await h.stateOf(a.shop.id)).toEqual(beforeA);
      expect(await h.stateOf(b.shop.id)).toEqual(beforeB);

      // Lists, search and attributes are per shop too.
      expect(ids(await h.list(b.secretKey, ""))).toEqual([]);
      expect(ids(await h.list(b.secretKey, "q=anna"))).toEqual([]);
      expect((await h.ok<{ data: Json[] }>(h.request(b.secretKey, "GET", "/v1/member-attributes"), 200)).data).toEqual(
        [],
      );
      expectProblem(
        await h.request(b.secretKey, "DELETE", "/v1/member-attributes/shoe_size"),
        422,
        "invalid_field_value",
      );
      expectProblem(
        await h.request(b.secretKey, "POST", "/v1/members", { attributes: { shoe_size: 40 } }),
        422,
        "invalid_field_value",
      );
      // The same email in shop B is B's own, new member.
      const own = await h.ok<MemberJson>(h.upsert(b.secretKey, "email", "anna@example.de"), 201);
      expect(own.id).not.toBe(member.id);
      expect(await h.stateOf(a.shop.id)).toEqual(beforeA);
      expect(await h.get(a.secretKey, member.id)).toMatchObject({ status: "guest", given_name: "Anna" });
    });

    it("refuses publishable keys on every member route and writes nothing", async () => {
      const { shop, secretKey, publishableKey } = await createShop(t());
      const member = await h.create(secretKey, { identifiers: [{ kind: "email", value: "p@example.com" }] });
      const before = await h.stateOf(shop.id);
      const routes: Array<[Method, string, unknown]> = [
        ...memberRoutes(member.id),
        ["POST", "/v1/members", {}],
        ["GET", "/v1/members", undefined],
        ["PUT", "/v1/members/by/email/p%40example.com", {}],
        ["PUT", "/v1/members/by/email/new%40example.com", {}],
        ["GET", "/v1/member-attributes", undefined],
        ["PUT", "/v1/member-attributes/size", { type: "string", label: "Size" }],
        ["DELETE", "/v1/member-attributes/size", undefined],
      ];
      for (const [method, url, body] of routes) {
        expectProblem(await h.request(publishableKey, method, url, body), 403, "secret_key_required");
      }
      for (const [method, url, body] of routes) {
        const response = await t().app.inject({
          method,
          url,
          ...(body === undefined ? {} : { payload: body as object }),
        });
        expectProblem(response, 401, "missing_api_key");
      }
      expect(await h.stateOf(shop.id)).toEqual(before);
    });
  });

  describe("bad input", () => {
    it("refuses malformed JSON, non-objects, wrong types, unknown fields and huge strings on every mutating route", async () => {
      const { shop, secretKey: key } = await createShop(t());
      await h.defineAttribute(key, "size", { type: "string", label: "Size" });
      const member = await h.create(key, { identifiers: [{ kind: "email", value: "m@example.com" }] });
      const before = await h.stateOf(shop.id);
      const huge = "x".repeat(10_000);
      const routes: Array<{
        method: Method;
        url: string;
        wrongType: [Json, string];
        unknown: Json;
        hugeString: Json;
      }> = [
        {
          method: "POST",
          url: "/v1/members",
          wrongType: [{ given_name: 42 }, "/body/given_name"],
          unknown: { email: "a@example.com" },
          hugeString: { given_name: huge },
        },
        {
          method: "PATCH",
          url: `/v1/members/${member.id}`,
          wrongType: [{ identifiers: { kind: "email", value: "a@example.com" } }, "/body/identifiers"],
          unknown: { nickname: "M" },
          hugeString: { family_name: huge },
        },
        {
          method: "PUT",
          url: "/v1/members/by/email/m%40example.com",
          wrongType: [{ country: 49 }, "/body/country"],
          unknown: { id: member.id },
          hugeString: { identifiers: [{ kind: "external", value: huge }] },
        },
        {
          method: "POST",
          url: `/v1/members/${member.id}/join`,
          wrongType: [{ status: 1 }, "/body/status"],
          unknown: { status: "active" },
          hugeString: { note: huge },
        },
        {
          method: "POST",
          url: `/v1/members/${member.id}/claim`,
          wrongType: [{ kind: "email", value: ["m@example.com"] }, "/body/value"],
          unknown: { kind: "email", value: "m@example.com", verified: true },
          hugeString: { kind: "email", value: `${huge}@example.com` },
        },
        {
          method: "POST",
          url: `/v1/members/${member.id}/consents`,
          wrongType: [{ changes: "email_marketing" }, "/body/changes"],
          unknown: {
            changes: [{ purpose: "profiling", granted: true, channel: "web", source: "form" }],
            member_id: member.id,
          },
          hugeString: { changes: [{ purpose: "profiling", granted: true, channel: "web", source: huge }] },
        },
        {
          method: "PUT",
          url: "/v1/member-attributes/size",
          wrongType: [{ type: "string", label: "Size", required: "no" }, "/body/required"],
          unknown: { type: "string", label: "Size", default: "M" },
          hugeString: { type: "string", label: huge },
        },
      ];
      for (const route of routes) {
        const where = `${route.method} ${route.url}`;
        expectProblem(await h.raw(key, route.method, route.url, '{"given_name": '), 400, "malformed_json");
        expectProblem(await h.raw(key, route.method, route.url, "{'a': 1}"), 400, "malformed_json");
        for (const text of ["null", "[]", "7", '"text"']) {
          const response = await h.raw(key, route.method, route.url, text);
          expect(response.statusCode, `${where} ${text}: ${response.body}`).toBe(400);
        }
        const [wrongBody, wrongPointer] = route.wrongType;
        const wrong = await h.request(key, route.method, route.url, wrongBody);
        expect(pointersOf(expectProblem(wrong, 400, "validation_failed")), where).toContain(wrongPointer);
        const unknown = await h.request(key, route.method, route.url, route.unknown);
        const unknownProblem = expectProblem(unknown, 400, "validation_failed");
        expect(
          (unknownProblem.errors as Array<{ message: string }>).some(
            (error) => error.message === "is not a known field",
          ),
          `${where}: ${unknown.body}`,
        ).toBe(true);
        const long = await h.request(key, route.method, route.url, route.hugeString);
        expect(long.statusCode, `${where}: ${long.body}`).toBe(400);
        const tooLarge = await h.raw(
          key,
          route.method,
          route.url,
          JSON.stringify({ given_name: "x".repeat(1_100_000) }),
        );
        expectProblem(tooLarge, 413, "payload_too_large");
        const text = await t().app.inject({
          method: route.method,
          url: route.url,
          headers: { ...bearer(key), "content-type": "text/plain" },
          payload: "given_name=Ana",
        });
        expectProblem(text, 415, "unsupported_media_type");
      }
      expect(await h.stateOf(shop.id)).toEqual(before);
    });

    it("refuses too many identifiers, too long path values and oversized JSON objects", async () => {
      const { shop, secretKey: key } = await createShop(t());
      await h.defineAttribute(key, "size", { type: "string", label: "Size" });
      const before = await h.stateOf(shop.id);
      const many = Array.from({ length: 21 }, (_, index) => ({ kind: "external", value: `id-${index}` }));
      expect(
        pointersOf(
          expectProblem(await h.request(key, "POST", "/v1/members", { identifiers: many }), 400, "validation_failed"),
        ),
      ).toEqual(["/body/identifiers"]);
      // The path value's schema limit (320) answers, not the router's parameter length.
      expect(
        pointersOf(expectProblem(await h.upsert(key, "external", "x".repeat(321)), 400, "validation_failed")),
      ).toEqual(["/params/value"]);

      const longest = await h.upsert(key, "magento", "x".repeat(100));
      expect(pointersOf(expectProblem(longest, 422, "invalid_field_value"))).toEqual(["/params/value"]);
      expectProblem(await h.upsert(key, "fax", "123"), 400, "validation_failed");
      expectProblem(await h.request(key, "GET", `/v1/members/mem_${"A".repeat(61)}`), 400, "validation_failed");

      const bigPreferences = { notes: "x".repeat(5000) };
      const refused = await h.request(key, "POST", "/v1/members", { marketing_preferences: bigPreferences });
      expect(pointersOf(expectProblem(refused, 422, "invalid_field_value"))).toEqual(["/body/marketing_preferences"]);
      const manyKeys = Object.fromEntries(Array.from({ length: 101 }, (_, index) => [`k${index}`, index]));
      expectProblem(
        await h.request(key, "POST", "/v1/members", { marketing_preferences: manyKeys }),
        400,
        "validation_failed",
      );
      for (const body of [
        { country: "de" },
        { country: "XX" },
        { locale: "not a locale!" },
        { name_order: "last_first" },
        { given_name: "" },
        { status: "suspended" },
      ]) {
        const response = await h.request(key, "POST", "/v1/members", body);
        expect([400, 422], `${JSON.stringify(body)}: ${response.body}`).toContain(response.statusCode);
      }
      expect(await h.stateOf(shop.id)).toEqual(before);
    });

    it("finds and creates members by identifiers longer than the router's default parameter length", async () => {
      const { secretKey: key } = await createShop(t());
      const longEmail = `${"a".repeat(64)}@${"b".repeat(150)}.example.com`;
      const created = await h.upsert(key, "email", longEmail);
      expect(created.statusCode, created.body).toBe(201);
      expect(created.json().email).toBe(longEmail);
      const found = await h.upsert(key, "email", longEmail.toUpperCase());
      expect(found.statusCode).toBe(200);
      expect(found.json().id).toBe(created.json().id);
    });

    it("accepts no body or an empty object where the body is optional, and refuses an empty PATCH", async () => {
      const { shop, secretKey: key } = await createShop(t());
      const member = await h.ok<MemberJson>(h.request(key, "POST", "/v1/members"), 201);
      await h.ok(h.request(key, "POST", "/v1/members", {}), 201);
      await h.ok(h.upsert(key, "external", "no-body"), 201);
      await h.ok(h.upsert(key, "external", "no-body", {}), 200);
      const before = await h.stateOf(shop.id);
      expectProblem(await h.request(key, "PATCH", `/v1/members/${member.id}`, {}), 400, "validation_failed");
      expectProblem(await h.request(key, "PATCH", `/v1/members/${member.id}`), 400, "validation_failed");
      expect(await h.stateOf(shop.id)).toEqual(before);
    });
  });
});

/** Every route that takes a member id, with a valid body, as [method, url, body]. */
function memberRoutes(id: string): Array<[Method, string, unknown]> {
  return [
    ["GET", `/v1/members/${id}`, undefined],
    ["PATCH", `/v1/members/${id}`, { given_name: "Mallory", identifiers: [{ kind: "email", value: "x@example.com" }] }],
    ["PATCH", `/v1/members/${id}`, { status: "suspended" }],
    ["DELETE", `/v1/members/${id}`, undefined],
    ["POST", `/v1/members/${id}/join`, undefined],
    ["POST", `/v1/members/${id}/claim`, { kind: "email", value: "anna@example.de" }],
    ["GET", `/v1/members/${id}/consents`, undefined],
    ["GET", `/v1/members/${id}/consents/history`, undefined],
    [
      "POST",
      `/v1/members/${id}/consents`,
      { changes: [{ purpose: "email_marketing", granted: false, channel: "web", source: "form" }] },
    ],
    ["GET", `/v1/members/${id}/points`, undefined],
  ];
}
