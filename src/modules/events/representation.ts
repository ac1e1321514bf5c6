import { describeRuleExplanation, type RuleExplanation } from "../rules/index.js";
import type { EventExplanation } from "./service.js";
import type { EventsTable } from "./tables.js";

/** The stored explanation with one English sentence per rule, for admin screens. */
export function withSentences(explanation: EventExplanation) {
  return {
    ...explanation,
    sentences: (explanation.rules ?? []).map((rule: RuleExplanation) => describeRuleExplanation(rule)),
  };
}

export function toEventJson(row: EventsTable, duplicate = false) {
  const body = JSON.parse(row.payload) as { data?: Record<string, unknown> };
  return {
    id: row.id,
    object: "event" as const,
    type: row.type,
    source: row.source,
    external_id: row.external_id,
    member_id: row.member_id,
    order_id: row.order_id,
    status: row.status,
    reason: row.reason,
    points: row.points,
    occurred_at: row.occurred_at,
    received_at: row.received_at,
    duplicate,
    data: body.data ?? {},
    explanation: withSentences(JSON.parse(row.explanation) as EventExplanation),
  };
}

export function toEventSummaryJson(row: EventsTable, duplicate: boolean) {
  return {
    id: row.id,
    type: row.type,
    external_id: row.external_id,
    member_id: row.member_id,
    status: row.status,
    reason: row.reason,
    points: row.points,
    duplicate,
  };
}
