import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";

type Operation = { method: string; url: string; secretOnly: boolean };

/**
 * The shared security check: every /v1 operation in the OpenAPI document, present and future,
 * refuses a missing key, an unknown key and a revoked key, and a secret-only operation refuses a
 * publishable key.
 */
describeEachDialect("authentication on every /v1 route", (dialect) => {
  const t = useTestApp(dialect);

  async function operations(): Promise<Operation[]> {
    const document = (await t().app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, { security?: Array<Record<string, unknown>> }>>;
    };
    const found: Operation[] = [];
    for (const [path, methods] of Object.entries(document.paths)) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, operation] of Object.entries(methods)) {
        const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
        found.push({
          method: method.toUpperCase(),
          url: path.replace(/\{[^}]+\}/g, "key_00000000000000000000000000"),
          secretOnly: !schemes.includes("publishableKey"),
        });
      }
    }
    return found;
  }

  it("documents every /v1 operation with a security requirement", async () => {
    const document = (await t().app.inject({ method: "GET", url: "/openapi.json" })).json();
    const listed = await operations();
    expect(listed.length).toBeGreaterThanOrEqual(6);
    for (const [path, methods] of Object.entries(
      document.paths as Record<string, Record<string, { security?: unknown[] }>>,
    )) {
      if (!path.startsWith("/v1/")) continue;
      for (const operation of Object.values(methods)) expect(operation.security?.length).toBeGreaterThan(0);
    }
  });

  it("answers 401 missing_api_key without an Authorization header", async () => {
    for (const operation of await operations()) {
      const response = await t().app.inject({ method: operation.method as "GET", url: operation.url });
      expect(response.statusCode, `${operation.method} ${operation.url}`).toBe(401);
      expect(response.json().code).toBe("missing_api_key");
      expect(response.headers["www-authenticate"]).toContain("Bearer");
    }
  });

  it("answers 401 invalid_api_key for an unknown or malformed key", async () => {
    for (const operation of await operations()) {
      for (const authorization of ["Bearer sk_notarealkey", "Bearer pk_", "Basic dXNlcjpwYXNz", "Bearer"]) {
        const response = await t().app.inject({
          method: operation.method as "GET",
          url: operation.url,
          headers: { authorization },
        });
        expect(response.statusCode, `${operation.method} ${operation.url} with ${authorization}`).toBe(401);
        expect(["invalid_api_key", "missing_api_key"]).toContain(response.json().code);
      }
    }
  });

  it("answers 401 for a revoked key", async () => {
    const shop = await createShop(t());
    const spare = (
      await t().app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: bearer(shop.secretKey),
        payload: { kind: "secret", name: "spare" },
      })
    ).json();
    await t().app.inject({ method: "POST", url: `/v1/keys/${spare.id}/revoke`, headers: bearer(shop.secretKey) });
    for (const operation of await operations()) {
      const response = await t().app.inject({
        method: operation.method as "GET",
        url: operation.url,
        headers: bearer(spare.token),
      });
      expect(response.statusCode, `${operation.method} ${operation.url}`).toBe(401);
      expect(response.json().code).toBe("invalid_api_key");
    }
  });

  it("answers 403 secret_key_required for a publishable key on a secret-only route", async () => {
    const shop = await createShop(t());
    const secretOnly = (await operations()).filter((operation) => operation.secretOnly);
    expect(secretOnly.length).toBeGreaterThan(0);
    for (const operation of secretOnly) {
      const response = await t().app.inject({
        method: operation.method as "GET",
        url: operation.url,
        headers: bearer(shop.publishableKey),
      });
      expect(response.statusCode, `${operation.method} ${operation.url}`).toBe(403);
      expect(response.json().code).toBe("secret_key_required");
    }
  });

  it("leaves health, readiness, metrics and docs open", async () => {
    for (const url of ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs/"]) {
      const response = await t().app.inject({ method: "GET", url });
      expect(response.statusCode, url).toBe(200);
    }
  });
});
