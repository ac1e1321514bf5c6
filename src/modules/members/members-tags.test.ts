import type { LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, type TestApp, useTestApp } from "../../../test/support/app.js";
import { withTransaction } from "../../platform/db/transaction.js";
import { isAppError } from "../../platform/errors.js";
import { parseTagList, setMemberTags } from "./index.js";

type Json = Record<string, unknown>;
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

interface MemberJson {
  id: string;
  status: string;
  tags: string[];
  updated_at: string;
}

interface PageJson {
  data: MemberJson[];
  has_more: boolean;
  next_cursor: string | null;
}

const minute = 60_000;

function harness(t: () => TestApp) {
  function request(
    key: string,
    method: Method,
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

  async function ok<T = Json>(response: Promise<LightMyRequestResponse>, status: number): Promise<T> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.json() as T;
  }

  function problem(response: LightMyRequestResponse, status: number, code: string) {
    expect(response.statusCode, response.body).toBe(status);
    expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const body = response.json() as { code: string; errors?: Array<{ pointer: string; message: string }> };
    expect(body.code).toBe(code);
    return body;
  }

  function pointers(body: { errors?: Array<{ pointer: string }> }): string[] {
    return [...new Set((body.errors ?? []).map((error) => error.pointer))].sort();
  }

  /** The shop's member rows and outbox, to show a refused request changed nothing. */
  async function stateOf(shopId: string) {
    const db = t().database.db;
    return {
      members: await db.selectFrom("members").selectAll().where("shop_id", "=", shopId).orderBy("id").execute(),
      outbox: await db
        .selectFrom("outbox")
        .select(["id", "type"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute(),
    };
  }

  /** The member's outbox events in order: type and data. */
  async function events(shopId: string, memberId: string) {
    const rows = await t()
      .database.db.selectFrom("outbox")
      .select(["type", "payload"])
      .where("shop_id", "=", shopId)
      .where("subject_id", "=", memberId)
      .orderBy("id")
      .execute();
    return rows.map((row) => ({ type: row.type, data: (JSON.parse(row.payload) as { data: Json }).data }));
  }

  async function list(key: string, query: string): Promise<string[]> {
    const page = await ok<PageJson>(request(key, "GET", `/v1/members?${query}`), 200);
    return page.data.map((member) => member.id);
  }

  return { request, ok, problem, pointers, stateOf, events, list };
}

describe("parseTagList", () => {
  it("splits on commas, trims, drops empty entries and case-insensitive repeats, and keeps the order", () => {
    expect(parseTagList("VIP, wholesale,, vip ,  ,Wholesale,newsletter")).toEqual(["VIP", "wholesale", "newsletter"]);
    expect(parseTagList("")).toEqual([]);
    expect(parseTagList(" , ,")).toEqual([]);
    expect(parseTagList("  Café  ")).toEqual(["Café"]);
  });
});

describeEachDialect("member tags", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  function tick(): string {
    t().clock.advance(minute);
    return t().clock.now().toISOString();
  }

  it("takes tags on create: trimmed, repeats in any case dropped (first spelling kept), order kept", async () => {
    const { shop, secretKey: key } = await createShop(t());
    const member = await h.ok<MemberJson>(
      h.request(key, "POST", "/v1/members", { tags: [" VIP ", "wholesale", "vip", "Wholesale ", "Café"] }),
      201,
    );
    expect(member.tags).toEqual(["VIP", "wholesale", "Café"]);
    expect((await h.ok<MemberJson>(h.request(key, "GET", `/v1/members/${member.id}`), 200)).tags).toEqual(member.tags);
    const [created] = await h.events(shop.id, member.id);
    expect(created?.type).toBe("member.created");
    expect((created?.data.member as MemberJson | undefined)?.tags).toEqual(["VIP", "wholesale", "Café"]);

    const plain = await h.ok<MemberJson>(h.request(key, "POST", "/v1/members", {}), 201);
    expect(plain.tags).toEqual([]);
  });

  it("replaces the list on PATCH, emitting member.updated only when it changes", async () => {
    const { shop, secretKey: key } = await createShop(t());
    const member = await h.ok<MemberJson>(h.request(key, "POST", "/v1/members", { tags: ["vip"] }), 201);

    const now = tick();
    const replaced = await h.ok<MemberJson>(
      h.request(key, "PATCH", `/v1/members/${member.id}`, { tags: ["gold", "VIP"] }),
      200,
    );
    expect(replaced.tags).toEqual(["gold", "VIP"]);
    expect(replaced.updated_at).toBe(now);

    // Other fields leave the tags alone.
    tick();
    expect(
      (await h.ok<MemberJson>(h.request(key, "PATCH", `/v1/members/${member.id}`, { given_name: "Ana" }), 200)).tags,
    ).toEqual(["gold", "VIP"]);

    // The same list again (after trimming and dropping repeats) changes nothing and emits nothing.
    const before = await h.stateOf(shop.id);
    tick();
    const same = await h.ok<MemberJson>(
      h.request(key, "PATCH", `/v1/members/${member.id}`, { tags: ["gold ", "VIP", "Gold"] }),
      200,
    );
    expect(same.tags).toEqual(["gold", "VIP"]);
    expect(await h.stateOf(shop.id)).toEqual(before);

    tick();
    const cleared = await h.ok<MemberJson>(h.request(key, "PATCH", `/v1/members/${member.id}`, { tags: [] }), 200);
    expect(cleared.tags).toEqual([]);

    const events = await h.events(shop.id, member.id);
    expect(events.map((event) => [event.type, event.data.changed])).toEqual([
      ["member.created", undefined],
      ["member.updated", ["tags"]],
      ["member.updated", ["given_name"]],
      ["member.updated", ["tags"]],
    ]);
    expect((events[1]?.data.member as MemberJson | undefined)?.tags).toEqual(["gold", "VIP"]);
    expect((events[3]?.data.member as MemberJson | undefined)?.tags).toEqual([]);
  });

  it("takes tags on the upsert, creating and updating", async () => {
    const { shop, secretKey: key } = await createShop(t());
    const url = `/v1/members/by/email/${encodeURIComponent("ana@example.com")}`;
    const created = await h.ok<MemberJson>(h.request(key, "PUT", url, { tags: ["new", "NEW"] }), 201);
    expect(created.tags).toEqual(["new"]);
    const updated = await h.ok<MemberJson>(h.request(key, "PUT", url, { tags: ["returning"] }), 200);
    expect(updated).toMatchObject({ id: created.id, tags: ["returning"] });
    const kept = await h.ok<MemberJson>(h.request(key, "PUT", url, {}), 200);
    expect(kept.tags).toEqual(["returning"]);
    expect((await h.events(shop.id, created.id)).map((event) => [event.type, event.data.changed])).toEqual([
      ["member.created", undefined],
      ["member.updated", ["tags"]],
    ]);
  });

  it("accepts 50 tags of 100 characters, counting characters rather than UTF-16 units", async () => {
    const { secretKey: key } = await createShop(t());
    const tags = Array.from({ length: 50 }, (_, index) => `${String(index).padStart(2, "0")}${"x".repeat(98)}`);
    const member = await h.ok<MemberJson>(h.request(key, "POST", "/v1/members", { tags }), 201);
    expect(member.tags).toEqual(tags);
    const emoji = "😀".repeat(100);
    const patched = await h.ok<MemberJson>(h.request(key, "PATCH", `/v1/members/${member.id}`, { tags: [emoji] }), 200);
    expect(patched.tags).toEqual([emoji]);
  });

  it("refuses bad tags with the pointer of each bad one and changes nothing", async () => {
    const { shop, secretKey: key } = await createShop(t());
    const member = await h.ok<MemberJson>(h.request(key, "POST", "/v1/members", { tags: ["keep"] }), 201);
    const before = await h.stateOf(shop.id);
    const tooMany = Array.from({ length: 51 }, (_, index) => `tag${index}`);
    const schemaCases: Array<[unknown, string[]]> = [
      [tooMany, ["/body/tags"]],
      [["ok", "x".repeat(101)], ["/body/tags/1"]],
      [["ok", ""], ["/body/tags/1"]],
      [["ok", 5], ["/body/tags/1"]],
      ["vip", ["/body/tags"]],
      [null, ["/body/tags"]],
    ];
    const urls: Array<[Method, string]> = [
      ["POST", "/v1/members"],
      ["PATCH", `/v1/members/${member.id}`],
      ["PUT", "/v1/members/by/email/new%40example.com"],
    ];
    for (const [method, url] of urls) {
      for (const [tags, expected] of schemaCases) {
        const body = h.problem(await h.request(key, method, url, { tags }), 400, "validation_failed");
        expect(h.pointers(body), `${method} ${JSON.stringify(tags)}`).toEqual(expected);
      }
      // Blank after trimming: checked by the service, with the other profile errors.
      const blank = h.problem(
        await h.request(key, method, url, { tags: ["ok", "   ", "also ok", "\t"], country: "ZZ" }),
        422,
        "invalid_field_value",
      );
      expect(h.pointers(blank)).toEqual(["/body/country", "/body/tags/1", "/body/tags/3"]);
      expect(blank.errors?.find((error) => error.pointer === "/body/tags/1")?.message).toBe("must not be blank");
    }
    expect(await h.stateOf(shop.id)).toEqual(before);
  });

  it("filters the list by tag: whole tags, in any case, combined with other filters", async () => {
    const { secretKey: key } = await createShop(t());
    const create = async (body: Json) => (await h.ok<MemberJson>(h.request(key, "POST", "/v1/members", body), 201)).id;
    tick();
    const ana = await create({ tags: ["VIP", "newsletter"] });
    tick();
    const bob = await create({ tags: ["vip-gold", "50%_off"], status: "guest" });
    tick();
    const cleo = await create({ tags: ["Newsletter", 'say "hi", ok', "Café"] });
    tick();
    const dan = await create({ tags: [] });
    tick();
    const eve = await create({ tags: ["vip"] });

    const byTag = (tag: string, extra = "") => h.list(key, `tag=${encodeURIComponent(tag)}${extra}`);
    expect(await byTag("vip")).toEqual([eve, ana]);
    expect(await byTag("VIP")).toEqual([eve, ana]);
    expect(await byTag("  Vip ")).toEqual([eve, ana]);
    // Whole tags only: no prefix, substring or JSON-text matches.
    expect(await byTag("vi")).toEqual([]);
    expect(await byTag("gold")).toEqual([]);
    expect(await byTag("vip-gold")).toEqual([bob]);
    expect(await byTag("VIP,")).toEqual([]);
    expect(await byTag('"vip"')).toEqual([]);
    expect(await byTag("%")).toEqual([]);
    expect(await byTag("50%_off")).toEqual([bob]);
    expect(await byTag("50__off")).toEqual([]);
    expect(await byTag('say "hi", ok')).toEqual([cleo]);
    expect(await byTag("newsletter")).toEqual([cleo, ana]);
    expect(await byTag("Café")).toEqual([cleo]);
    expect(await byTag("[]")).toEqual([]);
    // Combined with status, search and pagination.
    expect(await byTag("vip-gold", "&status=active")).toEqual([]);
    expect(await byTag("vip-gold", "&status=guest")).toEqual([bob]);
    const first = await h.ok<PageJson>(h.request(key, "GET", "/v1/members?tag=newsletter&limit=1"), 200);
    expect(first.data.map((member) => member.id)).toEqual([cleo]);
    expect(await h.list(key, `tag=newsletter&limit=1&cursor=${first.next_cursor}`)).toEqual([ana]);
    expect(await h.list(key, "")).toEqual([eve, dan, cleo, bob, ana]);

    for (const query of ["tag=", "tag=%20%20", `tag=${"a".repeat(101)}`]) {
      h.problem(await h.request(key, "GET", `/v1/members?${query}`), 400, "validation_failed");
    }
  });

  it("keeps tags to the shop: another shop's key neither sees nor changes them", async () => {
    const first = await createShop(t());
    const second = await createShop(t());
    const member = await h.ok<MemberJson>(h.request(first.secretKey, "POST", "/v1/members", { tags: ["vip"] }), 201);
    const theirs = await h.ok<MemberJson>(h.request(second.secretKey, "POST", "/v1/members", { tags: ["VIP"] }), 201);
    expect(await h.list(second.secretKey, "tag=vip")).toEqual([theirs.id]);
    expect(await h.list(first.secretKey, "tag=vip")).toEqual([member.id]);

    const before = await h.stateOf(first.shop.id);
    h.problem(
      await h.request(second.secretKey, "PATCH", `/v1/members/${member.id}`, { tags: ["hacked"] }),
      404,
      "member_not_found",
    );
    await expect(
      withTransaction(t().database, (trx) =>
        setMemberTags(trx, second.shop.id, member.id, ["hacked"], t().clock.now()),
      ),
    ).rejects.toMatchObject({ code: "member_not_found" });
    expect(await h.stateOf(first.shop.id)).toEqual(before);
  });

  it("does not let the storefront change tags, and shows them on GET /v1/me", async () => {
    const shop = await createShop(t());
    const member = await h.ok<MemberJson>(h.request(shop.secretKey, "POST", "/v1/members", { tags: ["vip"] }), 201);
    const { token } = await h.ok<{ token: string }>(
      h.request(shop.secretKey, "POST", `/v1/members/${member.id}/customer-tokens`),
      201,
    );
    const headers = { "x-laurel-customer-token": token };
    const me = await h.ok<MemberJson>(h.request(shop.publishableKey, "GET", "/v1/me", undefined, headers), 200);
    expect(me.tags).toEqual(["vip"]);

    const before = await h.stateOf(shop.shop.id);
    for (const key of [shop.publishableKey, shop.secretKey]) {
      const refused = h.problem(
        await h.request(key, "PATCH", "/v1/me", { given_name: "Ana", tags: ["free-points"] }, headers),
        400,
        "validation_failed",
      );
      expect(h.pointers(refused)).toEqual(["/body/tags"]);
    }
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
    const patched = await h.ok<MemberJson>(
      h.request(shop.publishableKey, "PATCH", "/v1/me", { given_name: "Ana" }, headers),
      200,
    );
    expect(patched.tags).toEqual(["vip"]);
  });

  it("setMemberTags replaces the list with the rules and events of PATCH", async () => {
    const { shop, secretKey: key } = await createShop(t());
    const member = await h.ok<MemberJson>(h.request(key, "POST", "/v1/members", { tags: ["old"] }), 201);
    const set = (tags: string[]) =>
      withTransaction(t().database, (trx) => setMemberTags(trx, shop.id, member.id, tags, t().clock.now()));

    const now = tick();
    const updated = await set(parseTagList("VIP, wholesale,, vip "));
    expect(updated.tags).toEqual(["VIP", "wholesale"]);
    expect(updated.updatedAt).toBe(now);
    expect((await h.ok<MemberJson>(h.request(key, "GET", `/v1/members/${member.id}`), 200)).tags).toEqual([
      "VIP",
      "wholesale",
    ]);
    tick();
    await set([" wholesale", "VIP"].reverse());

    const before = await h.stateOf(shop.id);
    const tooMany = Array.from({ length: 51 }, (_, index) => `tag${index}`);
    const error = await set(tooMany).catch((caught: unknown) => caught);
    expect(isAppError(error) && error.code).toBe("invalid_field_value");
    expect(isAppError(error) && error.errors).toEqual([{ pointer: "/body/tags", message: expect.any(String) }]);
    const long = await set(["ok", "y".repeat(101)]).catch((caught: unknown) => caught);
    expect(isAppError(long) && long.errors?.map((field) => field.pointer)).toEqual(["/body/tags/1"]);
    // 51 given but 50 once repeats are dropped: fine.
    expect((await set([...tooMany.slice(0, 50), "TAG0"])).tags).toHaveLength(50);
    expect((await h.stateOf(shop.id)).outbox.length).toBe(before.outbox.length + 1);

    await h.ok(h.request(key, "DELETE", `/v1/members/${member.id}`), 200);
    await expect(set(["after"])).rejects.toMatchObject({ code: "invalid_field_value" });

    expect((await h.events(shop.id, member.id)).map((event) => [event.type, event.data.changed])).toEqual([
      ["member.created", undefined],
      ["member.updated", ["tags"]],
      ["member.updated", ["tags"]],
      ["member.cancelled", undefined],
    ]);
  });

  it("combines both members' tags on merge, the survivor's first", async () => {
    const { secretKey: key } = await createShop(t());
    const survivor = await h.ok<MemberJson>(h.request(key, "POST", "/v1/members", { tags: ["VIP", "retail"] }), 201);
    const duplicate = await h.ok<MemberJson>(
      h.request(key, "POST", "/v1/members", { tags: ["wholesale", "vip", "Newsletter"] }),
      201,
    );
    const merged = await h.ok<MemberJson>(
      h.request(key, "POST", `/v1/members/${survivor.id}/merge`, { duplicate_id: duplicate.id }),
      200,
    );
    expect(merged.tags).toEqual(["VIP", "retail", "wholesale", "Newsletter"]);
  });
});
