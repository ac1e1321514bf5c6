import type { LightMyRequestResponse } from "fastify";
import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";
import { builtInEventTypes, isBuiltInEventType, isKnownEventType } from "./event-types.js";

type Method = "GET" | "PUT" | "DELETE";

interface EventTypeJson {
  type: string;
  built_in: boolean;
  name: string;
  description: string | null;
  created_at?: string;
  updated_at?: string;
}

describeEachDialect("event types", (dialect) => {
  const t = useTestApp(dialect);

  function request(key: string, method: Method, url: string, payload?: unknown): Promise<LightMyRequestResponse> {
    return t().app.inject({
      method,
      url,
      headers: bearer(key),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }

  async function list(key: string): Promise<EventTypeJson[]> {
    const response = await request(key, "GET", "/v1/event-types");
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { object: string; data: EventTypeJson[] };
    expect(body.object).toBe("list");
    return body.data;
  }

  async function customTypes(key: string): Promise<EventTypeJson[]> {
    return (await list(key)).filter((eventType) => !eventType.built_in);
  }

  function problem(response: LightMyRequestResponse, status: number, code: string) {
    expect(response.statusCode, response.body).toBe(status);
    expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const body = response.json() as { code: string; detail: string; errors?: Array<{ pointer: string }> };
    expect(body.code).toBe(code);
    return body;
  }

  async function rowsOf(shopId: string) {
    return t()
      .database.db.selectFrom("custom_event_types")
      .selectAll()
      .where("shop_id", "=", shopId)
      .orderBy("type")
      .execute();
  }

  it("lists the built-in types, with names and descriptions, before any custom one", async () => {
    const { secretKey } = await createShop(t());
    const data = await list(secretKey);
    expect(data.map((eventType) => eventType.type)).toEqual([...builtInEventTypes]);
    for (const eventType of data) {
      expect(Object.keys(eventType).sort()).toEqual(["built_in", "description", "name", "type"]);
      expect(eventType.built_in).toBe(true);
      expect(eventType.name.length).toBeGreaterThan(0);
      expect(eventType.description?.length).toBeGreaterThan(0);
    }
    expect(isBuiltInEventType("order.paid")).toBe(true);
    expect(isBuiltInEventType("workshop.attended")).toBe(false);
  });

  it("creates (201), replaces (200) and deletes (204) a custom type", async () => {
    const { shop, secretKey } = await createShop(t());
    const created = await request(secretKey, "PUT", "/v1/event-types/workshop.attended", {
      name: "  Workshop attended ",
      description: "The customer attended an in-store workshop.",
    });
    expect(created.statusCode, created.body).toBe(201);
    const createdAt = t().clock.now().toISOString();
    expect(created.json()).toEqual({
      type: "workshop.attended",
      built_in: false,
      name: "Workshop attended",
      description: "The customer attended an in-store workshop.",
      created_at: createdAt,
      updated_at: createdAt,
    });

    t().clock.advance(60_000);
    const updatedAt = t().clock.now().toISOString();
    // A PUT replaces the definition: a description left out is removed.
    const replaced = await request(secretKey, "PUT", "/v1/event-types/workshop.attended", { name: "Workshop" });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toEqual({
      type: "workshop.attended",
      built_in: false,
      name: "Workshop",
      description: null,
      created_at: createdAt,
      updated_at: updatedAt,
    });

    // The same definition again: 200, nothing changes.
    t().clock.advance(60_000);
    const again = await request(secretKey, "PUT", "/v1/event-types/workshop.attended", {
      name: "Workshop",
      description: null,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ updated_at: updatedAt });

    await request(secretKey, "PUT", "/v1/event-types/app_installed", { name: "App installed", description: "" });
    await request(secretKey, "PUT", "/v1/event-types/a.b_2.c3", { name: "Nested" });
    expect(await customTypes(secretKey)).toEqual([
      expect.objectContaining({ type: "a.b_2.c3", name: "Nested" }),
      expect.objectContaining({ type: "app_installed", name: "App installed", description: null }),
      expect.objectContaining({ type: "workshop.attended", name: "Workshop", created_at: createdAt }),
    ]);
    const data = await list(secretKey);
    expect(data.slice(0, builtInEventTypes.length).every((eventType) => eventType.built_in)).toBe(true);

    expect(await isKnownEventType(t().database.db, shop.id, "workshop.attended")).toBe(true);
    expect(await isKnownEventType(t().database.db, shop.id, "order.paid")).toBe(true);
    expect(await isKnownEventType(t().database.db, shop.id, "workshop")).toBe(false);

    const deleted = await request(secretKey, "DELETE", "/v1/event-types/workshop.attended");
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect(deleted.body).toBe("");
    expect((await customTypes(secretKey)).map((eventType) => eventType.type)).toEqual(["a.b_2.c3", "app_installed"]);
    expect(await isKnownEventType(t().database.db, shop.id, "workshop.attended")).toBe(false);
    problem(await request(secretKey, "DELETE", "/v1/event-types/workshop.attended"), 404, "event_type_not_found");
    problem(await request(secretKey, "DELETE", "/v1/event-types/never.defined"), 404, "event_type_not_found");
  });

  it("refuses built-in types and names that are not lower-case dotted words, and writes nothing", async () => {
    const { shop, secretKey } = await createShop(t());
    await request(secretKey, "PUT", "/v1/event-types/kept", { name: "Kept" });
    const before = await rowsOf(shop.id);

    for (const builtIn of builtInEventTypes) {
      for (const method of ["PUT", "DELETE"] as const) {
        const body = problem(
          await request(
            secretKey,
            method,
            `/v1/event-types/${builtIn}`,
            method === "PUT" ? { name: "Mine" } : undefined,
          ),
          400,
          "validation_failed",
        );
        expect(body.errors?.map((error) => error.pointer)).toEqual(["/params/type"]);
        expect(body.detail).toContain("built-in");
      }
    }
    const badNames = [
      "Workshop",
      "workshop.Attended",
      "1workshop",
      "_workshop",
      "workshop.",
      ".workshop",
      "workshop..attended",
      "workshop-attended",
      "workshop%20attended",
      "workshöp",
      `a${"b".repeat(100)}`,
    ];
    for (const name of badNames) {
      for (const method of ["PUT", "DELETE"] as const) {
        const response = await request(
          secretKey,
          method,
          `/v1/event-types/${name}`,
          method === "PUT" ? { name: "X" } : undefined,
        );
        const body = problem(response, 400, "validation_failed");
        expect(
          body.errors?.map((error) => error.pointer),
          `${method} ${name}`,
        ).toContain("/params/type");
      }
    }
    expect(await rowsOf(shop.id)).toEqual(before);
  });

  it("refuses bad bodies with the pointer of the bad field, and changes nothing", async () => {
    const { shop, secretKey } = await createShop(t());
    await request(secretKey, "PUT", "/v1/event-types/kept", { name: "Kept", description: "Still here" });
    const before = await rowsOf(shop.id);
    const cases: Array<[unknown, number, string, string[]]> = [
      [{}, 400, "validation_failed", ["/body/name"]],
      [{ name: "" }, 400, "validation_failed", ["/body/name"]],
      [{ name: "x".repeat(101) }, 400, "validation_failed", ["/body/name"]],
      [{ name: 5 }, 400, "validation_failed", ["/body/name"]],
      [{ name: "Ok", description: "d".repeat(501) }, 400, "validation_failed", ["/body/description"]],
      [{ name: "Ok", description: 5 }, 400, "validation_failed", ["/body/description"]],
      [{ name: "Ok", extra: true }, 400, "validation_failed", ["/body/extra"]],
      [{ name: "   " }, 422, "invalid_field_value", ["/body/name"]],
    ];
    for (const type of ["kept", "new.type"]) {
      for (const [body, status, code, pointers] of cases) {
        const refused = problem(await request(secretKey, "PUT", `/v1/event-types/${type}`, body), status, code);
        expect([...new Set(refused.errors?.map((error) => error.pointer))], JSON.stringify(body)).toEqual(pointers);
      }
    }
    expect(await rowsOf(shop.id)).toEqual(before);
    const accepted = await request(secretKey, "PUT", "/v1/event-types/edge", {
      name: "n".repeat(100),
      description: "d".repeat(500),
    });
    expect(accepted.statusCode, accepted.body).toBe(201);
  });

  it("keeps each shop's custom types to itself", async () => {
    const first = await createShop(t());
    const second = await createShop(t());
    await request(first.secretKey, "PUT", "/v1/event-types/workshop.attended", { name: "First's workshop" });
    const before = await rowsOf(first.shop.id);

    expect(await customTypes(second.secretKey)).toEqual([]);
    expect(await isKnownEventType(t().database.db, second.shop.id, "workshop.attended")).toBe(false);
    problem(
      await request(second.secretKey, "DELETE", "/v1/event-types/workshop.attended"),
      404,
      "event_type_not_found",
    );
    // The same type in another shop is that shop's own, with its own name.
    const own = await request(second.secretKey, "PUT", "/v1/event-types/workshop.attended", { name: "Second's" });
    expect(own.statusCode).toBe(201);
    expect(await rowsOf(first.shop.id)).toEqual(before);
    expect((await customTypes(first.secretKey)).map((eventType) => eventType.name)).toEqual(["First's workshop"]);

    await request(second.secretKey, "DELETE", "/v1/event-types/workshop.attended");
    expect(await rowsOf(first.shop.id)).toEqual(before);
  });

  it("documents the routes in OpenAPI", async () => {
    const document = (await t().app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(document.paths["/v1/event-types"].get.responses["200"]).toBeDefined();
    expect(Object.keys(document.paths["/v1/event-types/{type}"]).sort()).toEqual(["delete", "put"]);
  });

  it("needs a secret key", async () => {
    const { shop, publishableKey } = await createShop(t());
    for (const [method, payload] of [
      ["GET", undefined],
      ["PUT", { name: "X" }],
      ["DELETE", undefined],
    ] as const) {
      const url = method === "GET" ? "/v1/event-types" : "/v1/event-types/workshop.attended";
      problem(await request(publishableKey, method, url, payload), 403, "secret_key_required");
    }
    const anonymous = await t().app.inject({ method: "GET", url: "/v1/event-types" });
    problem(anonymous, 401, "missing_api_key");
    expect(await rowsOf(shop.id)).toEqual([]);
  });
});
