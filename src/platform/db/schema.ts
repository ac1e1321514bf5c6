import type {
  PlatformDiscountsTable,
  ShopIntegrationsTable,
  WebhookDeliveriesTable,
} from "../../integrations/tables.js";
import type {
  CustomEventTypesTable,
  EventAwardsTable,
  EventsTable,
  ImportRunsTable,
  OrdersTable,
} from "../../modules/events/tables.js";
import type { ExchangeRatesTable } from "../../modules/exchange-rates/tables.js";
import type { ApiKeysTable } from "../../modules/keys/tables.js";
import type {
  LedgerEntriesTable,
  LedgerLotMovementsTable,
  LedgerLotsTable,
  LedgerTransactionsTable,
  PointAccountsTable,
  PointReservationsTable,
} from "../../modules/ledger/tables.js";
import type {
  MemberAttributeDefinitionsTable,
  MemberConsentsTable,
  MemberIdentifiersTable,
  MembersTable,
} from "../../modules/members/tables.js";
import type {
  CheckoutPointsTable,
  OrderRewardOutcomesTable,
  RedemptionsTable,
  RewardsTable,
  StoreCreditBalancesTable,
  StoreCreditEntriesTable,
} from "../../modules/rewards/tables.js";
import type { EarningRulesTable, EarningRuleVersionsTable } from "../../modules/rules/tables.js";
import type { ShopsTable } from "../../modules/shops/tables.js";
import type {
  MemberTiersTable,
  TierChangesTable,
  TierEntryRewardsTable,
  TierProgramsTable,
  TierProgramVersionsTable,
  TierSweepsTable,
} from "../../modules/tiers/tables.js";
import type { IdempotencyKeysTable } from "../http/idempotency.js";
import type { OutboxTable } from "../outbox.js";

/**
 * The whole database as Kysely sees it. Each table is declared by the module that owns it; this
 * file only puts them side by side. Timestamps are ISO-8601 UTC text, points and money integers.
 */
export interface Database {
  shops: ShopsTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  members: MembersTable;
  member_identifiers: MemberIdentifiersTable;
  member_consents: MemberConsentsTable;
  member_attribute_definitions: MemberAttributeDefinitionsTable;
  point_accounts: PointAccountsTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_entries: LedgerEntriesTable;
  ledger_lots: LedgerLotsTable;
  ledger_lot_movements: LedgerLotMovementsTable;
  point_reservations: PointReservationsTable;
  outbox: OutboxTable;
  custom_event_types: CustomEventTypesTable;
  earning_rules: EarningRulesTable;
  earning_rule_versions: EarningRuleVersionsTable;
  exchange_rates: ExchangeRatesTable;
  events: EventsTable;
  orders: OrdersTable;
  event_awards: EventAwardsTable;
  shop_integrations: ShopIntegrationsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  import_runs: ImportRunsTable;
  tier_programs: TierProgramsTable;
  tier_program_versions: TierProgramVersionsTable;
  member_tiers: MemberTiersTable;
  tier_changes: TierChangesTable;
  tier_entry_rewards: TierEntryRewardsTable;
  tier_sweeps: TierSweepsTable;
  rewards: RewardsTable;
  redemptions: RedemptionsTable;
  store_credit_balances: StoreCreditBalancesTable;
  store_credit_entries: StoreCreditEntriesTable;
  checkout_points: CheckoutPointsTable;
  order_reward_outcomes: OrderRewardOutcomesTable;
  platform_discounts: PlatformDiscountsTable;
}
