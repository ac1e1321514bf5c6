import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { getShop, listShops } from "../modules/shops/index.js";
import { getProgram, reevaluateAllMembers, reevaluateDueMembers } from "../modules/tiers/index.js";
import { clock, print, withDatabase } from "./context.js";

interface ReevaluateOptions {
  shop?: string;
  all?: boolean;
  json?: boolean;
  progress: boolean;
}

export function registerTiersCommand(program: Command): void {
  const tiers = program.command("tiers").description("Tier re-evaluation");
  tiers
    .command("reevaluate")
    .description(
      "Re-evaluate the members whose tier period, grace period or lock has ended (what the server's scheduled sweep does); with --all, every active member: upgrades whoever qualifies for more, after a program change",
    )
    .option("--shop <id>", "one shop (default: every shop with a tier program)")
    .option("--all", "evaluate every active member, resuming an unfinished --all run")
    .option("--json", "print JSON for scripts")
    .option("--no-progress", "no progress bar (it is shown only when stderr is a terminal)")
    .action(async (options: ReevaluateOptions) => {
      const showBar = !options.json && options.progress && process.stderr.isTTY === true;
      const summary = await withDatabase(async (database) => {
        const shopIds = options.shop
          ? [(await getShop(database.db, options.shop)).id]
          : (await listShops(database.db)).map((shop) => shop.id);
        const results = [];
        for (const shopId of shopIds) {
          if (!(await getProgram(database.db, shopId))) {
            if (options.shop) throw new Error(`Shop ${shopId} has no tier program; create one with PUT /v1/tiers`);
            continue;
          }
          const now = clock.now();
          if (options.all) {
            const bar = new SingleBar({
              stream: process.stderr,
              format: `${shopId} {bar} {value}/{total} members | {changed} changed | ETA {eta_formatted}`,
            });
            let started = false;
            try {
              const result = await reevaluateAllMembers(database, shopId, now, (progress) => {
                if (!showBar) return;
                if (!started) bar.start(progress.total, 0, { changed: 0 });
                started = true;
                bar.update(progress.evaluated, { changed: progress.changed });
              });
              results.push({
                shop_id: shopId,
                evaluated: result.evaluated,
                changed: result.changed,
                resumed: result.resumed,
              });
            } finally {
              if (started) bar.stop();
            }
          } else {
            const result = await reevaluateDueMembers(database, shopId, now);
            results.push({ shop_id: shopId, evaluated: result.evaluated, changed: result.changed, resumed: false });
          }
        }
        return { shops: results };
      });
      print(Boolean(options.json), summary, () =>
        summary.shops.length === 0
          ? "No shop has a tier program."
          : summary.shops
              .map(
                (shop) =>
                  `${shop.shop_id}: ${shop.evaluated} member(s) evaluated, ${shop.changed} changed tier${shop.resumed ? " (resumed an unfinished run)" : ""}.`,
              )
              .join("\n"),
      );
    });
}
