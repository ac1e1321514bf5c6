import { type Static, Type } from "typebox";

const Timestamp = Type.String({ format: "date-time" });
const Currency = Type.String({ pattern: "^[A-Z]{3}$", description: "ISO 4217", examples: ["USD"] });
const MinorUnits = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "Minor units" });
const Strings = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 250, description });

export const eventTypePattern = "^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*$";

export const EventOrder = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 100, description: "The order's id in its source", examples: ["1001"] }),
    number: Type.Optional(Type.String({ maxLength: 100, description: "The number the shopper sees, e.g. #1001" })),
    currency: Type.Optional(Type.String({ pattern: "^[A-Z]{3}$", description: "What the shopper paid in" })),
    total: Type.Optional({ ...MinorUnits, description: "What the shopper paid, tax and shipping included" }),
    subtotal: Type.Optional({ ...MinorUnits, description: "Line items after discounts; default: the total" }),
    shop_money: Type.Optional(
      Type.Object(
        { currency: Currency, total: MinorUnits, subtotal: Type.Optional(MinorUnits) },
        {
          additionalProperties: false,
          description:
            "The same amounts in the shop currency, as the platform converted them (Shopify shop_money); else Laurel converts with /v1/exchange-rates",
        },
      ),
    ),
    product_ids: Type.Optional(Strings("Product ids in the order")),
    product_tags: Type.Optional(Strings("Tags of the products in the order")),
    collections: Type.Optional(Strings("Collections (categories) of the products")),
    channel: Type.Optional(Type.String({ minLength: 1, maxLength: 100, examples: ["web", "pos"] })),
    discount_codes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        maxItems: 50,
        description: "order.paid: codes the order used; Laurel's own codes are marked used on this order",
      }),
    ),
    cart_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          "order.paid: the cart or checkout token points were put on (PUT /v1/checkouts/{cart_id}/points); they are spent on this order",
      }),
    ),
    country: Type.Optional(Type.String({ pattern: "^[A-Z]{2}$", description: "ISO 3166-1 alpha-2" })),
  },
  {
    additionalProperties: false,
    description:
      "Required for order events: order.paid needs currency and total; refunds and cancellations only the id",
  },
);

export const EventRefund = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 100 })),
    amount: { ...MinorUnits, description: "Money returned, in the order's currency" },
    currency: Currency,
  },
  { additionalProperties: false, description: "For order.refunded" },
);

export const EventMember = Type.Object(
  {
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
    phone: Type.Optional(Type.String({ minLength: 3, maxLength: 40 })),
    external_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    shopify_id: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    woocommerce_id: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    given_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    family_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  {
    additionalProperties: false,
    description:
      "Finds the member by the first identifier that has one (shopify_id, woocommerce_id, external_id, email, phone), or creates one with all of them",
  },
);

export const EventBody = Type.Object(
  {
    type: Type.String({ maxLength: 100, pattern: eventTypePattern, examples: ["order.paid"] }),
    source: Type.Optional(
      Type.String({
        pattern: "^[a-z][a-z0-9_-]{0,39}$",
        description: 'Who sent it; default "api". Deduplication is per source',
        examples: ["api"],
      }),
    ),
    external_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          "Your id for this event: a second event with the same source and external_id returns the first one. It names the event, not the order: use e.g. order-1001-paid",
      }),
    ),
    occurred_at: Type.Optional({
      ...Timestamp,
      description: "When it happened; default now. Limits and expiry count from it",
    }),
    member_id: Type.Optional(Type.String({ maxLength: 64 })),
    member: Type.Optional(EventMember),
    order: Type.Optional(EventOrder),
    refund: Type.Optional(EventRefund),
    network: Type.Optional(
      Type.String({ minLength: 1, maxLength: 50, description: "For social.* events", examples: ["instagram"] }),
    ),
    data: Type.Optional(Type.Object({}, { additionalProperties: true, description: "Anything else, kept as sent" })),
  },
  { additionalProperties: false },
);
export type EventBody = Static<typeof EventBody>;

export const maxBatchEvents = 1000;

export const BatchBody = Type.Object(
  { events: Type.Array(EventBody, { minItems: 1, maxItems: maxBatchEvents }) },
  { additionalProperties: false },
);

export const EventResponse = Type.Object(
  {
    id: Type.String({ examples: ["ev_01JD3M8Q6V9KX2T4R7B5N0CZHF"] }),
    object: Type.Literal("event"),
    type: Type.String(),
    source: Type.String(),
    external_id: Type.Union([Type.String(), Type.Null()]),
    member_id: Type.Union([Type.String(), Type.Null()]),
    order_id: Type.Union([Type.String(), Type.Null()]),
    status: Type.Union([Type.Literal("processed"), Type.Literal("skipped")], {
      description: "processed: the rules ran (possibly for 0 points); skipped: nothing could be awarded, see reason",
    }),
    reason: Type.Union([Type.String(), Type.Null()]),
    points: Type.Integer({ description: "Points the event moved: awarded, or taken back (negative)" }),
    occurred_at: Timestamp,
    received_at: Timestamp,
    duplicate: Type.Boolean({ description: "True when this answer is the first result of an earlier event" }),
    data: Type.Object({}, { additionalProperties: true }),
    explanation: Type.Object({}, { additionalProperties: true }),
  },
  { $id: "Event" },
);

/** What a batch answers per event: enough to act on; GET /v1/events/{id} has the explanation. */
export const EventSummary = Type.Object({
  id: Type.String(),
  type: Type.String(),
  external_id: Type.Union([Type.String(), Type.Null()]),
  member_id: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal("processed"), Type.Literal("skipped")]),
  reason: Type.Union([Type.String(), Type.Null()]),
  points: Type.Integer(),
  duplicate: Type.Boolean(),
});

export const EventParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const ListEventsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    member_id: Type.Optional(Type.String({ maxLength: 64 })),
    type: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);
