import { type ShopifyApiSettings, sendDueShopifyDiscounts } from "../integrations/shopify/discount-sync.js";
import { settleDueAccounts } from "../modules/ledger/index.js";
import { listShops } from "../modules/shops/index.js";
import { reevaluateDueMembers } from "../modules/tiers/index.js";
import type { Clock } from "../platform/clock.js";
import type { DatabaseHandle } from "../platform/db/database.js";
import type { Logger } from "../platform/logger.js";

export interface SweepReport {
  shops: number;
  settledAccounts: number;
  tiersEvaluated: number;
  tiersChanged: number;
  /** Shopify discount codes sent or deleted again after an earlier attempt failed. */
  discountsRetried: number;
}

/**
 * One pass of the scheduled work, shop by shop: points that fell due are settled (expired,
 * confirmed, reservations released), then members whose tier period, grace or lock ended are
 * re-evaluated. Each step is idempotent, so two servers running it at once do nothing twice.
 */
export async function runSweeps(
  database: DatabaseHandle,
  now: Date,
  shopify: ShopifyApiSettings,
): Promise<SweepReport> {
  const report: SweepReport = { shops: 0, settledAccounts: 0, tiersEvaluated: 0, tiersChanged: 0, discountsRetried: 0 };
  for (const shop of await listShops(database.db)) {
    report.shops += 1;
    report.settledAccounts += await settleDueAccounts(database, shop.id, now);
    const tiers = await reevaluateDueMembers(database, shop.id, now);
    report.tiersEvaluated += tiers.evaluated;
    report.tiersChanged += tiers.changed;
  }
  report.discountsRetried = await sendDueShopifyDiscounts(database, shopify, now);
  return report;
}

/**
 * Runs the sweeps every `intervalSeconds` in the server process, never two at once. Returns a
 * stop function that waits for a pass in progress, for a graceful shutdown.
 */
export function scheduleSweeps(
  database: DatabaseHandle,
  clock: Clock,
  logger: Logger,
  intervalSeconds: number,
  shopify: ShopifyApiSettings,
): () => Promise<void> {
  if (intervalSeconds === 0) return async () => {};
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = runSweeps(database, clock.now(), shopify)
      .then((report) => {
        if (report.settledAccounts > 0 || report.tiersEvaluated > 0 || report.discountsRetried > 0)
          logger.info({ sweep: report }, "scheduled sweep");
      })
      .catch((error: unknown) => logger.error({ err: error }, "scheduled sweep failed"))
      .finally(() => {
        running = null;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
