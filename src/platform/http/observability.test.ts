import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";

describeEachDialect("health, readiness, metrics and request ids", (dialect) => {
  const t = useTestApp(dialect);

  it("reports ready while the database answers", async () => {
    const response = await t().app.inject({ method: "GET", url: "/readyz" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: "ready" });
    expect((await t().app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
  });

  it("counts requests by route pattern in /metrics", async () => {
    const { secretKey, secretKeyId } = await createShop(t());
    await t().app.inject({ method: "GET", url: `/v1/keys/${secretKeyId}`, headers: bearer(secretKey) });
    const metrics = (await t().app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain('laurel_http_requests_total{method="GET",route="/v1/keys/:id",status="200"} 1');
    expect(metrics).not.toContain(secretKeyId);
    expect(metrics).toContain("laurel_http_request_duration_seconds_bucket");
  });

  it("echoes a caller's request id and makes one otherwise", async () => {
    const given = await t().app.inject({ method: "GET", url: "/healthz", headers: { "x-request-id": "checkout-42" } });
    expect(given.headers["x-request-id"]).toBe("checkout-42");
    const made = await t().app.inject({
      method: "GET",
      url: "/healthz",
      headers: { "x-request-id": "no spaces allowed" },
    });
    expect(made.headers["x-request-id"]).toMatch(/^req_[0-9A-Z]{26}$/);
  });

  it("serves an OpenAPI 3.1 document with the problem schema", async () => {
    const document = (await t().app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(document.openapi).toBe("3.1.0");
    expect(document.paths["/v1/shop"].get).toBeDefined();
    expect(document.components.schemas.Problem.properties.code).toBeDefined();
  });
});

describeEachDialect("readiness without a database", (dialect) => {
  const t = useTestApp(dialect);

  it("answers 503 not_ready once the database is gone", async () => {
    await t().database.close();
    const response = await t().app.inject({ method: "GET", url: "/readyz" });
    expect(response.statusCode).toBe(503);
    expect(response.json().code).toBe("not_ready");
  });
});
