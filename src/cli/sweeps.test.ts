import { expect, it } from "vitest";
import { createShop, describeEachDialect, useTestApp } from "../../test/support/app.js";
import { creditPoints, systemActor } from "../modules/ledger/index.js";
import { createMember } from "../modules/members/index.js";
import { assignTier, saveProgram } from "../modules/tiers/index.js";
import { withTransaction } from "../platform/db/transaction.js";
import { runSweeps } from "./sweeps.js";

// No discount is queued here, so nothing is sent; were one sent, port 9 refuses it at once.
const shopify = { apiVersion: "2025-10", origin: "http://127.0.0.1:9" };

describeEachDialect("scheduled sweeps", (dialect) => {
  const t = useTestApp(dialect);

  it("settle due points and re-evaluate due tiers in every shop, and do nothing twice", async () => {
    const { database, clock } = t();
    const start = clock.now();
    const shop = await createShop(t());
    const other = await createShop(t());
    const { expiring, graded } = await withTransaction(database, async (trx) => {
      const expiring = await createMember(trx, { shopId: shop.shop.id }, start);
      const graded = await createMember(trx, { shopId: other.shop.id }, start);
      await creditPoints(
        trx,
        {
          shopId: shop.shop.id,
          memberId: expiring.id,
          type: "earn",
          amount: 50,
          expiresAt: new Date(start.getTime() + 60_000).toISOString(),
          actor: systemActor,
        },
        start,
      );
      await saveProgram(
        trx,
        other.shop,
        {
          grace_days: 0,
          tiers: [
            { key: "member", name: { en: "Member" } },
            { key: "vip", name: { en: "VIP" }, thresholds: { orders: 3 } },
          ],
        },
        systemActor,
        start,
      );
      await assignTier(
        trx,
        {
          shopId: other.shop.id,
          memberId: graded.id,
          tier: "vip",
          reason: "Trial",
          lockedUntil: null,
          actor: systemActor,
        },
        start,
      );
      return { expiring, graded };
    });
    const later = new Date(start.getTime() + 400 * 24 * 60 * 60 * 1000);
    const before = await runSweeps(database, later, shopify);
    expect(before).toMatchObject({ settledAccounts: 1, tiersEvaluated: 1, tiersChanged: 1 });
    expect(before.shops).toBeGreaterThanOrEqual(2);
    expect(await runSweeps(database, later, shopify)).toMatchObject({
      settledAccounts: 0,
      tiersEvaluated: 0,
      tiersChanged: 0,
    });
    const account = await database.db
      .selectFrom("point_accounts")
      .select(["available", "lifetime_expired"])
      .where("member_id", "=", expiring.id)
      .executeTakeFirstOrThrow();
    expect(account).toEqual({ available: 0, lifetime_expired: 50 });
    const tier = await database.db
      .selectFrom("member_tiers")
      .select(["tier"])
      .where("member_id", "=", graded.id)
      .executeTakeFirstOrThrow();
    expect(tier.tier).toBe("member");
  });
});
