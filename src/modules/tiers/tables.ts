export interface TierProgramsTable {
  shop_id: string;
  version: number;
  /** The program as JSON (`TierProgram`). */
  definition: string;
  created_at: string;
  updated_at: string;
}

export interface TierProgramVersionsTable {
  shop_id: string;
  version: number;
  definition: string;
  actor_type: string;
  actor_id: string | null;
  created_at: string;
}

export interface MemberTiersTable {
  shop_id: string;
  member_id: string;
  /** The tier's key. */
  tier: string;
  since: string;
  /** The program version the member qualified (or was assigned) under. */
  program_version: number;
  /** When the member must qualify again to keep the tier; null on the base tier. */
  period_ends_at: string | null;
  /** Set when a re-evaluation found the member short: the downgrade waits until then. */
  grace_until: string | null;
  /** A manual assignment holds the tier (no downgrade) until then. */
  locked_until: string | null;
  /** The next moment the sweep looks at this member (the earliest of the above that applies). */
  due_at: string | null;
  updated_at: string;
}

export const tierChangeKinds = ["upgrade", "downgrade", "assigned", "grace_started", "grace_ended"] as const;
export type TierChangeKind = (typeof tierChangeKinds)[number];

export interface TierChangesTable {
  shop_id: string;
  id: string;
  member_id: string;
  kind: TierChangeKind;
  from_tier: string | null;
  to_tier: string;
  reason: string;
  program_version: number;
  /** The metrics the decision was made on (JSON), when it was made on metrics. */
  metrics: string | null;
  /** The event that caused an upgrade. */
  event_id: string | null;
  actor_type: string;
  actor_id: string | null;
  created_at: string;
}

export interface TierEntryRewardsTable {
  shop_id: string;
  member_id: string;
  tier: string;
  transaction_id: string | null;
  created_at: string;
}

export interface TierSweepsTable {
  shop_id: string;
  id: string;
  /** The last member id evaluated; the next run of an unfinished sweep starts after it. */
  cursor: string | null;
  evaluated: number;
  changed: number;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}
