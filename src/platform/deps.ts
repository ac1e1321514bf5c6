import type { Clock } from "./clock.js";
import type { Config } from "./config.js";
import type { DatabaseHandle } from "./db/database.js";
import type { Logger } from "./logger.js";

/** Everything a route or job needs from outside, passed as one typed object (no globals). */
export interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  clock: Clock;
  logger: Logger;
}
