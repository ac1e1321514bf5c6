import { type Static, Type } from "typebox";
import type { EarningRule } from "./service.js";
import { maxExpiryMonths, maxPendingDays } from "./service.js";

const Timestamp = Type.String({ format: "date-time" });

// The rule language (conditions, reward, multipliers, limits) is checked by validateRule, which
// names every problem with a JSON pointer; the HTTP schema only fixes the shape around it.
const ruleLanguage = {
  conditions: Type.Optional(
    Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], {
      description: "A condition tree (`all`, `any`, `not`, or `{field, op, value}`); null: every event of the type",
      examples: [{ field: "order.subtotal", op: "gte", value: { amount: 5000, currency: "USD" } }],
    }),
  ),
  reward: Type.Object(
    {},
    {
      additionalProperties: true,
      description: '`{"type": "fixed", "points": 200}` or `{"type": "per_currency_unit", "points": 10, "per": {...}}`',
      examples: [{ type: "per_currency_unit", points: 10, per: { amount: 100, currency: "USD" } }],
    },
  ),
  multipliers: Type.Optional(
    Type.Array(Type.Object({}, { additionalProperties: true }), {
      maxItems: 10,
      description: "Fractions applied together when their `when` holds: `{numerator, denominator?, label?, when?}`",
    }),
  ),
  max_points_per_event: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: "Cap per event" })),
  limits: Type.Optional(
    Type.Array(Type.Object({}, { additionalProperties: true }), {
      maxItems: 8,
      description: 'Per member: `{"period": "day"|"week"|"month"|"lifetime", "max_points"|"max_awards": n}`',
    }),
  ),
};

const settings = {
  name: Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: "Shown to admins and in explanations" }),
  ),
  event_type: Type.String({
    maxLength: 100,
    description: "The event type that triggers the rule",
    examples: ["order.paid"],
  }),
  ...ruleLanguage,
  pending_days: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: maxPendingDays,
      description: "Days the points stay pending (a return window) before they can be spent; default 0",
    }),
  ),
  expiry_months: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1, maximum: maxExpiryMonths }), Type.Null()], {
      description: "Months after the event when the points expire; null: never; default 12",
    }),
  ),
};

export const CreateRuleBody = Type.Object(
  { ...settings, enabled: Type.Optional(Type.Boolean({ description: "Default true; false saves it disabled" })) },
  { additionalProperties: false },
);
export type CreateRuleBody = Static<typeof CreateRuleBody>;

export const UpdateRuleBody = Type.Partial(Type.Object(settings, { additionalProperties: false }), {
  additionalProperties: false,
});
export type UpdateRuleBody = Static<typeof UpdateRuleBody>;

/** A draft in a preview: a rule body, optionally with the id it would have (for limit usage). */
export const DraftRule = Type.Object(
  { id: Type.Optional(Type.String({ maxLength: 64 })), ...settings },
  { additionalProperties: false },
);

const ruleStatus = Type.Union([Type.Literal("active"), Type.Literal("disabled"), Type.Literal("archived")]);

export const RuleResponse = Type.Object(
  {
    id: Type.String({ examples: ["rul_01JD3M8Q6V9KX2T4R7B5N0CZHF"] }),
    object: Type.Literal("earning_rule"),
    name: Type.String(),
    status: ruleStatus,
    version: Type.Integer({ minimum: 1, description: "Bumped by every change, status changes included" }),
    event_type: Type.String(),
    conditions: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    reward: Type.Object({}, { additionalProperties: true }),
    multipliers: Type.Array(Type.Object({}, { additionalProperties: true })),
    max_points_per_event: Type.Union([Type.Integer(), Type.Null()]),
    limits: Type.Array(Type.Object({}, { additionalProperties: true })),
    pending_days: Type.Integer(),
    expiry_months: Type.Union([Type.Integer(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "EarningRule" },
);

const { id: _id, object: _object, updated_at: _updatedAt, ...versionProperties } = RuleResponse.properties;

export const RuleVersionResponse = Type.Object({
  object: Type.Literal("earning_rule_version"),
  rule_id: Type.String(),
  ...versionProperties,
});

export const RuleParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const ListRulesQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    status: Type.Optional(ruleStatus),
    event_type: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);

export function toRuleJson(rule: EarningRule) {
  return {
    id: rule.id,
    object: "earning_rule" as const,
    name: rule.name,
    status: rule.status,
    version: rule.version,
    event_type: rule.eventType,
    conditions: rule.conditions as Record<string, unknown> | null,
    reward: rule.reward as unknown as Record<string, unknown>,
    multipliers: rule.multipliers as unknown as Record<string, unknown>[],
    max_points_per_event: rule.max_points_per_event,
    limits: rule.limits as unknown as Record<string, unknown>[],
    pending_days: rule.pending_days,
    expiry_months: rule.expiry_months,
    created_at: rule.createdAt,
    updated_at: rule.updatedAt,
  };
}
