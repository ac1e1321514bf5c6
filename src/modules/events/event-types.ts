/** The event types Laurel knows without any setup. Shops add their own (custom_event_types). */
export const builtInEventTypes = [
  "order.paid",
  "order.refunded",
  "order.cancelled",
  "review.created",
  "profile.completed",
  "social.followed",
  "checked_in",
  "content.shared",
  "referral.converted",
  "birthday",
] as const;
export type BuiltInEventType = (typeof builtInEventTypes)[number];

export function isBuiltInEventType(type: string): type is BuiltInEventType {
  return (builtInEventTypes as readonly string[]).includes(type);
}
