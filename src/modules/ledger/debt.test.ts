import { expect, it } from "vitest";
import { createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";
import { type Tx, withTransaction } from "../../platform/db/transaction.js";
import { createMember } from "../members/index.js";
import {
  type Actor,
  confirmPending,
  creditPoints,
  debitPoints,
  getPointsSummary,
  reverseTransaction,
  transferAccount,
  verifyLedger,
} from "./index.js";

const actor: Actor = { type: "system", id: null };
const day = 24 * 60 * 60 * 1000;

describeEachDialect("points debt", (dialect) => {
  const t = useTestApp(dialect);
  const now = () => t().clock.now();
  const tx = <T>(work: (trx: Tx) => Promise<T>) => withTransaction(t().database, work);

  async function setup(input: Parameters<typeof createShop>[1] = {}) {
    const shop = await createShop(t(), input);
    const shopId = shop.shop.id;
    const member = async () => (await tx((trx) => createMember(trx, { shopId }, now()))).id;
    return { shopId, a: await member(), b: await member() };
  }
  const earn = (shopId: string, memberId: string, amount: number, extra = {}) =>
    tx((trx) => creditPoints(trx, { shopId, memberId, type: "earn", amount, actor, ...extra }, now()));
  const spend = (shopId: string, memberId: string, amount: number) =>
    tx((trx) => debitPoints(trx, { shopId, memberId, type: "redeem", amount, actor }, now()));
  const summary = (shopId: string, memberId: string) => getPointsSummary(t().database, shopId, memberId, now());
  async function expectClean(shopId: string) {
    expect((await verifyLedger(t().database.db, { shopId })).problems).toEqual([]);
  }

  it("refuses to reverse spent points unless told to record the shortfall as debt", async () => {
    const { shopId, a } = await setup();
    const credit = await earn(shopId, a, 1000);
    await spend(shopId, a, 700);
    const refused = tx((trx) =>
      reverseTransaction(trx, { shopId, transactionId: credit.transaction.id, actor }, now()),
    ).catch((error: { code?: string }) => error.code);
    expect(await refused).toBe("insufficient_points");

    const reversed = await tx((trx) =>
      reverseTransaction(trx, { shopId, transactionId: credit.transaction.id, actor, shortfall: "debt" }, now()),
    );
    expect(reversed.debtRecorded).toBe(700);
    expect(reversed.balance).toMatchObject({ available: 0, debt: 700, lifetimeEarned: 0, lifetimeSpent: 700 });
    await expectClean(shopId);
  });

  it("repays debt from later credits first, and from pending points only once confirmed", async () => {
    const { shopId, a } = await setup();
    const credit = await earn(shopId, a, 500);
    await spend(shopId, a, 500);
    await tx((trx) =>
      reverseTransaction(trx, { shopId, transactionId: credit.transaction.id, actor, shortfall: "debt" }, now()),
    );
    const pending = await earn(shopId, a, 300, { pending: true });
    expect(pending.balance).toMatchObject({ available: 0, pending: 300, debt: 500 });
    const confirmed = await tx((trx) =>
      confirmPending(trx, { shopId, transactionId: pending.transaction.id, actor }, now()),
    );
    expect(confirmed.balance).toMatchObject({ available: 0, pending: 0, debt: 200 });
    const next = await earn(shopId, a, 350);
    expect(next.balance).toMatchObject({ available: 150, debt: 0, lifetimeEarned: 650 });
    // The credit's lot holds only what reached the balance; spending it all works.
    await spend(shopId, a, 150);
    await expectClean(shopId);
  });

  it("shows the debt as a balance below zero only when the shop allows it", async () => {
    const strict = await setup();
    const credit = await earn(strict.shopId, strict.a, 100);
    await spend(strict.shopId, strict.a, 100);
    await tx((trx) =>
      reverseTransaction(
        trx,
        { shopId: strict.shopId, transactionId: credit.transaction.id, actor, shortfall: "debt" },
        now(),
      ),
    );
    expect(await summary(strict.shopId, strict.a)).toMatchObject({ available: 0, debt: 100, balance: 0 });

    const lenient = await setup();
    await t()
      .database.db.updateTable("shops")
      .set({ allow_negative_balance: 1 })
      .where("id", "=", lenient.shopId)
      .execute();
    const other = await earn(lenient.shopId, lenient.a, 100);
    await spend(lenient.shopId, lenient.a, 60);
    await tx((trx) =>
      reverseTransaction(
        trx,
        { shopId: lenient.shopId, transactionId: other.transaction.id, actor, shortfall: "debt" },
        now(),
      ),
    );
    expect(await summary(lenient.shopId, lenient.a)).toMatchObject({ available: 0, debt: 60, balance: -60 });
  });

  it("moves debt with a merge, repaid at once from the survivor's points", async () => {
    const { shopId, a, b } = await setup();
    const credit = await earn(shopId, a, 400, { expiresAt: new Date(now().getTime() + 90 * day).toISOString() });
    await spend(shopId, a, 400);
    await tx((trx) =>
      reverseTransaction(trx, { shopId, transactionId: credit.transaction.id, actor, shortfall: "debt" }, now()),
    );
    await earn(shopId, b, 250);
    const moved = await tx((trx) => transferAccount(trx, { shopId, fromMemberId: a, toMemberId: b, actor }, now()));
    expect(moved?.balance).toMatchObject({ available: 0, debt: 0 });
    expect(await summary(shopId, b)).toMatchObject({ available: 0, debt: 150 });
    await earn(shopId, b, 200);
    expect(await summary(shopId, b)).toMatchObject({ available: 50, debt: 0 });
    await expectClean(shopId);
  });
});
