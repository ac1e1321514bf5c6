export type MemberStatus = "guest" | "active" | "suspended" | "cancelled" | "erased";

/** Whether the given or the family name comes first when the member's name is written. */
export type NameOrder = "given_first" | "family_first";

export interface MembersTable {
  shop_id: string;
  id: string;
  status: MemberStatus;
  given_name: string | null;
  family_name: string | null;
  name_order: NameOrder | null;
  birthday_month: number | null;
  birthday_day: number | null;
  birthday_year: number | null;
  /** BCP 47; null: the shop's default locale. */
  locale: string | null;
  /** ISO 3166-1 alpha-2. */
  country: string | null;
  /** JSON object: topics, frequency — what the member wants to hear about (not consent). */
  marketing_preferences: string;
  /** JSON object of the shop's custom attributes (see member_attribute_definitions). */
  attributes: string;
  /** JSON array of tags (from the store platform or the API), for rule conditions and segments. */
  tags: string;
  /** Set once, when the profile first became complete (`profile.completed` is emitted then). */
  profile_completed_at: string | null;
  /** When the member joined the program (became active); null for guests. */
  joined_at: string | null;
  /** Set on a duplicate merged into another member. */
  merged_into_member_id: string | null;
  created_at: string;
  updated_at: string;
}

export const identifierKinds = ["email", "phone", "whatsapp", "shopify", "woocommerce", "magento", "external"] as const;
export type IdentifierKind = (typeof identifierKinds)[number];

export interface MemberIdentifiersTable {
  shop_id: string;
  kind: IdentifierKind;
  /** Normalized: lower-case email, E.164 phone, the platform's customer id. */
  value: string;
  member_id: string;
  verified_at: string | null;
  created_at: string;
}

export const consentPurposes = [
  "email_marketing",
  "sms_marketing",
  "whatsapp_marketing",
  "profiling",
  "data_processing",
] as const;
export type ConsentPurpose = (typeof consentPurposes)[number];

/** Where the member gave or withdrew consent. */
export const consentChannels = ["web", "app", "whatsapp", "email", "sms", "pos", "phone", "import", "api"] as const;
export type ConsentChannel = (typeof consentChannels)[number];

export interface MemberConsentsTable {
  shop_id: string;
  id: string;
  member_id: string;
  purpose: ConsentPurpose;
  channel: ConsentChannel;
  status: "granted" | "withdrawn";
  /** What recorded it: a form, a checkbox, an import ("checkout_checkbox"). */
  source: string;
  /** Which wording of the consent text the member saw. */
  wording_version: string | null;
  ip_address: string | null;
  user_agent: string | null;
  recorded_at: string;
}

export const attributeTypes = ["string", "number", "boolean", "date"] as const;
export type AttributeType = (typeof attributeTypes)[number];

export interface MemberAttributeDefinitionsTable {
  shop_id: string;
  key: string;
  type: AttributeType;
  label: string;
  /** 1 when the profile is not complete without it (integers: SQLite binds no booleans). */
  required: number;
  created_at: string;
  updated_at: string;
}
