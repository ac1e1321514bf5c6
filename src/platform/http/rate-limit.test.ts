import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";

describeEachDialect("rate limiting per key", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 2, rateLimitBurst: 3 });

  it("answers 429 with Retry-After once a key's bucket is empty, and refills with time", async () => {
    const { secretKey } = await createShop(t());
    const get = () => t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(secretKey) });
    const statuses: number[] = [];
    const remaining: unknown[] = [];
    for (let index = 0; index < 4; index++) {
      const response = await get();
      statuses.push(response.statusCode);
      remaining.push(response.headers["ratelimit-remaining"]);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(remaining).toEqual(["2", "1", "0", "0"]);
    const limited = await get();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(limited.json().code).toBe("rate_limited");
    expect(limited.headers["retry-after"]).toBe("1");
    expect(limited.headers["ratelimit-limit"]).toBe("3");

    t().clock.advance(500);
    expect((await get()).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(429);
  });

  it("counts each key on its own", async () => {
    const busy = await createShop(t());
    const quiet = await createShop(t());
    for (let index = 0; index < 5; index++) {
      await t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(busy.secretKey) });
    }
    const response = await t().app.inject({ method: "GET", url: "/v1/shop", headers: bearer(quiet.secretKey) });
    expect(response.statusCode).toBe(200);
  });
});
