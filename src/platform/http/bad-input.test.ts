import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";

/** Bad requests get a clear problem+json answer and write nothing. */
describeEachDialect("bad input", (dialect) => {
  const t = useTestApp(dialect, { bodyLimitBytes: 4096 });

  async function keyCount(shopId: string): Promise<number> {
    const rows = await t().database.db.selectFrom("api_keys").select("id").where("shop_id", "=", shopId).execute();
    return rows.length;
  }

  function expectProblem(
    response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
    status: number,
    code: string,
  ) {
    expect(response.statusCode).toBe(status);
    expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const problem = response.json() as Record<string, unknown>;
    expect(problem).toMatchObject({ type: `urn:laurel:problem:${code}`, status, code });
    expect(typeof problem.title).toBe("string");
    expect(typeof problem.detail).toBe("string");
    expect(problem.request_id).toBe(response.headers["x-request-id"]);
    return problem;
  }

  it("answers malformed JSON with 400 malformed_json", async () => {
    const { shop, secretKey } = await createShop(t());
    const response = await t().app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: { ...bearer(secretKey), "content-type": "application/json" },
      payload: '{"kind": "secret", "name": ',
    });
    expectProblem(response, 400, "malformed_json");
    expect(await keyCount(shop.id)).toBe(2);
  });

  it("answers an empty JSON body with 400 malformed_json", async () => {
    const { secretKey } = await createShop(t());
    const response = await t().app.inject({
      method: "PATCH",
      url: "/v1/shop",
      headers: { ...bearer(secretKey), "content-type": "application/json" },
      payload: "",
    });
    expectProblem(response, 400, "malformed_json");
  });

  it("does not coerce wrong types in a body", async () => {
    const { shop, secretKey } = await createShop(t());
    const response = await t().app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: bearer(secretKey),
      payload: { kind: "secret", name: 12345 },
    });
    const problem = expectProblem(response, 400, "validation_failed");
    expect(problem.errors).toEqual([{ pointer: "/body/name", message: "must be string" }]);
    expect(await keyCount(shop.id)).toBe(2);
  });

  it("lists every bad field at once, unknown ones included", async () => {
    const { secretKey } = await createShop(t());
    const response = await t().app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: bearer(secretKey),
      payload: { kind: 1, label: "x" },
    });
    const problem = expectProblem(response, 400, "validation_failed");
    const pointers = (problem.errors as Array<{ pointer: string }>).map((error) => error.pointer).sort();
    expect(pointers).toEqual(expect.arrayContaining(["/body/kind", "/body/label", "/body/name"]));
  });

  it("refuses a JSON array or scalar where an object belongs", async () => {
    const { secretKey } = await createShop(t());
    for (const payload of ["[]", "42", '"text"', "null"]) {
      const response = await t().app.inject({
        method: "PATCH",
        url: "/v1/shop",
        headers: { ...bearer(secretKey), "content-type": "application/json" },
        payload,
      });
      expect(response.statusCode, payload).toBe(400);
    }
  });

  it("answers a body over the limit with 413 and writes nothing", async () => {
    const { shop, secretKey } = await createShop(t());
    const response = await t().app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: bearer(secretKey),
      payload: { kind: "secret", name: "x".repeat(10_000) },
    });
    expectProblem(response, 413, "payload_too_large");
    expect(await keyCount(shop.id)).toBe(2);
  });

  it("answers a body that is not JSON with 415", async () => {
    const { shop, secretKey } = await createShop(t());
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
      const response = await t().app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: { ...bearer(secretKey), "content-type": contentType },
        payload: "kind=secret&name=x",
      });
      expectProblem(response, 415, "unsupported_media_type");
    }
    expect(await keyCount(shop.id)).toBe(2);
  });

  it("validates query strings with coercion but within bounds", async () => {
    const { secretKey } = await createShop(t());
    const ok = await t().app.inject({ method: "GET", url: "/v1/keys?limit=1", headers: bearer(secretKey) });
    expect(ok.statusCode).toBe(200);
    for (const query of ["limit=0", "limit=101", "limit=abc", "colour=red"]) {
      const response = await t().app.inject({ method: "GET", url: `/v1/keys?${query}`, headers: bearer(secretKey) });
      const problem = expectProblem(response, 400, "validation_failed");
      expect((problem.errors as Array<{ pointer: string }>)[0]?.pointer).toMatch(/^\/querystring/);
    }
  });

  it("answers an unknown route with 404 route_not_found", async () => {
    const response = await t().app.inject({ method: "GET", url: "/v1/nothing-here" });
    expectProblem(response, 404, "route_not_found");
  });
});
