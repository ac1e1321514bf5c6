import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import { AppError } from "../../platform/errors.js";
import { type Explanation, evaluateRules } from "../rules/index.js";
import { type ActiveRule, checkDraft, listActiveRules, type RuleDraft, toActiveRule } from "../rules/service.js";
import type { Shop } from "../shops/index.js";
import { getProgram } from "../tiers/index.js";
import { evaluationContext, type OrderAmounts, orderAmounts, orderFacts, ruleUsage, tierContext } from "./context.js";
import { type EventMember, findMember, isFirstOrder } from "./repository.js";
import type { EventBody } from "./schema.js";

export interface PreviewInput {
  shop: Shop;
  /** Draft rules; absent: the shop's active rules for the event type. */
  rules?: Array<RuleDraft & { id?: string | undefined; event_type: string }> | undefined;
  event: EventBody;
  /** A real member whose tags, birthday, orders and limit usage the preview uses. */
  memberId?: string | undefined;
}

export interface PreviewResult {
  explanation: Explanation;
  order: OrderAmounts | null;
  member_id: string | null;
}

/**
 * Evaluates rules on a sample event exactly as ingestion would, reading (never writing) the shop's
 * exchange rates and the member's history. Draft rules without an id count no earlier usage.
 */
export async function previewRules(db: Kysely<Database>, input: PreviewInput, now: Date): Promise<PreviewResult> {
  const { shop, event } = input;
  const rules: ActiveRule[] = input.rules
    ? input.rules.map((draft, index) => {
        const checked = checkDraft(draft, shop.baseCurrency, `/body/rules/${index}`);
        return toActiveRule({
          id: draft.id ?? `draft_${index + 1}`,
          version: 1,
          name: checked.name,
          eventType: checked.eventType,
          ...checked.settings,
        });
      })
    : await listActiveRules(db, shop.id, event.type);
  let member: EventMember | null = null;
  if (input.memberId !== undefined) {
    member = (await findMember(db, shop.id, input.memberId)) ?? null;
    if (!member) {
      throw new AppError("member_not_found", `No member ${input.memberId} in this shop`, {
        errors: [{ pointer: "/body/member_id", message: "is not a member of this shop" }],
      });
    }
  }
  const occurredAt = event.occurred_at ? new Date(event.occurred_at).toISOString() : now.toISOString();
  let amounts: OrderAmounts | null = null;
  let facts = null;
  if (event.order && event.type === "order.paid") {
    amounts = await orderAmounts(db, shop, event.order, "/body/event");
    const first = member ? await isFirstOrder(db, shop.id, member.id) : true;
    facts = orderFacts(event.order, amounts, first);
  }
  const context = evaluationContext({
    shop,
    type: event.type,
    occurredAt,
    network: event.network ?? null,
    member,
    order: facts,
    tier: member ? await tierContext(db, shop.id, (await getProgram(db, shop.id)) ?? null, member.id) : null,
  });
  const usage = member ? await ruleUsage(db, shop, member.id, rules, occurredAt) : {};
  return { explanation: evaluateRules(rules, context, usage), order: amounts, member_id: member?.id ?? null };
}
