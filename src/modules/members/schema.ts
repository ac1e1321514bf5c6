import { Type } from "typebox";
import { PageQuery } from "../../platform/http/pagination.js";
import type { ProfileInput } from "./service.js";
import { attributeTypes, consentChannels, consentPurposes, identifierKinds } from "./tables.js";
import { maxTagLength, maxTags } from "./tags.js";

export { toMemberJson as toMemberResponse } from "./representation.js";

const Timestamp = Type.String({ format: "date-time" });
const NullableString = (options: { maxLength: number; description?: string }) =>
  Type.Union([Type.String({ minLength: 1, maxLength: options.maxLength }), Type.Null()], {
    ...(options.description ? { description: options.description } : {}),
  });

const IdentifierKind = Type.Enum(identifierKinds, {
  description:
    "email, phone (E.164; local numbers read in the shop's default_country), whatsapp (the WhatsApp id or number), shopify / woocommerce / magento (the platform's customer id), external (your own id)",
});

const Birthday = Type.Object(
  {
    month: Type.Integer({ minimum: 1, maximum: 12 }),
    day: Type.Integer({ minimum: 1, maximum: 31 }),
    year: Type.Optional(Type.Union([Type.Integer({ minimum: 1900, maximum: 2100 }), Type.Null()])),
  },
  { additionalProperties: false, description: "Month and day; the year is optional" },
);

const JsonObject = (description: string) =>
  Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 100, description });

/** Profile fields shared by create, update and upsert. Absent: unchanged; null: cleared. */
const profileFields = {
  given_name: Type.Optional(NullableString({ maxLength: 200, description: "In the member's own script" })),
  family_name: Type.Optional(NullableString({ maxLength: 200 })),
  name_order: Type.Optional(
    Type.Union([Type.Literal("given_first"), Type.Literal("family_first"), Type.Null()], {
      description: "How the member writes their name: given_first (Ana Silva) or family_first (山田 太郎)",
    }),
  ),
  birthday: Type.Optional(Type.Union([Birthday, Type.Null()])),
  locale: Type.Optional(NullableString({ maxLength: 35, description: "BCP 47; null uses the shop's default" })),
  country: Type.Optional(
    Type.Union([Type.String({ pattern: "^[A-Z]{2}$" }), Type.Null()], { description: "ISO 3166-1 alpha-2" }),
  ),
  marketing_preferences: Type.Optional(
    JsonObject("What the member wants to hear about (topics, frequency); not consent. Up to 4 KB."),
  ),
  attributes: Type.Optional(
    JsonObject("Values of the shop's custom attributes (GET /v1/member-attributes); null removes one"),
  ),
  tags: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: maxTagLength }), {
      maxItems: maxTags,
      description: `Replaces the member's tags ([] removes them all): up to ${maxTags}, each 1–${maxTagLength} characters. Tags are trimmed; a repeat that differs only in case is dropped (the first spelling stays); the order is kept.`,
      examples: [["VIP", "wholesale"]],
    }),
  ),
};

const IdentifierInput = Type.Object(
  {
    kind: IdentifierKind,
    value: Type.String({ minLength: 1, maxLength: 320 }),
    verified: Type.Optional(Type.Boolean({ description: "The shop has verified it (confirmed email, OTP)" })),
  },
  { additionalProperties: false },
);

const Identifiers = Type.Array(IdentifierInput, { maxItems: 20 });

export const CreateMemberBody = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal("guest"), Type.Literal("active")], {
        description: "Absent: the shop's enrollment_mode decides (auto: active, opt_in: guest)",
      }),
    ),
    identifiers: Type.Optional(Identifiers),
    ...profileFields,
  },
  {
    additionalProperties: false,
    examples: [
      {
        identifiers: [
          { kind: "email", value: "ana.silva@example.com" },
          { kind: "shopify", value: "7012345678901" },
        ],
        given_name: "Ana",
        family_name: "Silva",
        birthday: { month: 4, day: 12 },
        country: "BR",
      },
    ],
  },
);

export const UpdateMemberBody = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal("active"), Type.Literal("suspended")], {
        description: "Suspend or reinstate; cancel with DELETE, join with POST …/join",
      }),
    ),
    identifiers: Type.Optional(Type.Array(IdentifierInput, { maxItems: 20, description: "Identifiers to add" })),
    ...profileFields,
  },
  { additionalProperties: false, minProperties: 1, examples: [{ given_name: "Ana", country: "PT" }] },
);

export const UpsertMemberBody = Type.Object(
  {
    status: CreateMemberBody.properties.status,
    identifiers: Type.Optional(Type.Array(IdentifierInput, { maxItems: 20, description: "More identifiers to link" })),
    ...profileFields,
  },
  {
    additionalProperties: false,
    examples: [{ given_name: "Ana", identifiers: [{ kind: "phone", value: "+5511912345678" }] }],
  },
);

export const UpsertParams = Type.Object({
  kind: IdentifierKind,
  value: Type.String({ minLength: 1, maxLength: 320, description: "URL-encoded (e.g. %2B for a leading +)" }),
});

export const MemberResponse = Type.Object(
  {
    id: Type.String({ examples: ["mem_01JD3M8Q6V9KX2T4R7B5N0CZHF"] }),
    object: Type.Literal("member"),
    status: Type.Union(
      [
        Type.Literal("guest"),
        Type.Literal("active"),
        Type.Literal("suspended"),
        Type.Literal("cancelled"),
        Type.Literal("erased"),
      ],
      { description: "Where the member stands in the program" },
    ),
    email: Type.Union([Type.String(), Type.Null()], { description: "The first email identifier" }),
    phone: Type.Union([Type.String(), Type.Null()], { description: "The first phone identifier (E.164)" }),
    given_name: Type.Union([Type.String(), Type.Null()]),
    family_name: Type.Union([Type.String(), Type.Null()]),
    name_order: Type.Union([Type.Literal("given_first"), Type.Literal("family_first"), Type.Null()]),
    birthday: Type.Union([
      Type.Object({ month: Type.Integer(), day: Type.Integer(), year: Type.Union([Type.Integer(), Type.Null()]) }),
      Type.Null(),
    ]),
    locale: Type.Union([Type.String(), Type.Null()]),
    country: Type.Union([Type.String(), Type.Null()]),
    marketing_preferences: Type.Record(Type.String(), Type.Unknown()),
    attributes: Type.Record(Type.String(), Type.Unknown()),
    tags: Type.Array(Type.String(), {
      description: "Labels from the shop or its store platform (e.g. Shopify customer tags), in their order",
    }),
    identifiers: Type.Array(
      Type.Object({
        kind: IdentifierKind,
        value: Type.String(),
        verified_at: Type.Union([Timestamp, Type.Null()]),
        created_at: Timestamp,
      }),
    ),
    profile_completed_at: Type.Union([Timestamp, Type.Null()], {
      description: "When the profile first became complete (profile.completed was emitted then)",
    }),
    joined_at: Type.Union([Timestamp, Type.Null()]),
    merged_into_member_id: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "Member" },
);

export const ListMembersQuery = Type.Object(
  {
    ...PageQuery.properties,
    status: Type.Optional(MemberResponse.properties.status),
    created_from: Type.Optional(Type.String({ format: "date-time", description: "Created at or after" })),
    created_to: Type.Optional(Type.String({ format: "date-time", description: "Created before" })),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: "Prefix of an email, a phone number (digits after the +) or a given or family name",
      }),
    ),
    tag: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: maxTagLength,
        pattern: "\\S",
        description:
          "Members with this tag, compared whole and case-insensitively (ASCII letters on SQLite; other letters as written)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const MemberIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const ClaimBody = Type.Object(
  {
    kind: Type.Union([Type.Literal("email"), Type.Literal("phone")]),
    value: Type.String({ minLength: 1, maxLength: 320 }),
  },
  {
    additionalProperties: false,
    description: "An email or phone the shop has verified (a confirmation link, an OTP)",
    examples: [{ kind: "email", value: "ana.silva@example.com" }],
  },
);

const ConsentRecord = Type.Object({
  id: Type.String(),
  purpose: Type.Enum(consentPurposes),
  channel: Type.Enum(consentChannels),
  status: Type.Union([Type.Literal("granted"), Type.Literal("withdrawn")]),
  source: Type.String(),
  wording_version: Type.Union([Type.String(), Type.Null()]),
  ip_address: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  recorded_at: Timestamp,
});

export { ConsentRecord };

export const ConsentsResponse = Type.Object({
  object: Type.Literal("member_consents"),
  member_id: Type.String(),
  purposes: Type.Array(
    Type.Object({
      purpose: Type.Enum(consentPurposes),
      granted: Type.Boolean({ description: "True only when the latest record grants it; never by default" }),
      latest: Type.Union([ConsentRecord, Type.Null()]),
    }),
  ),
});

export const RecordConsentsBody = Type.Object(
  {
    changes: Type.Array(
      Type.Object(
        {
          purpose: Type.Enum(consentPurposes),
          granted: Type.Boolean(),
          channel: Type.Enum(consentChannels, { description: "Where the member said it" }),
          source: Type.String({ minLength: 1, maxLength: 200, description: "What asked, e.g. checkout_checkbox" }),
          wording_version: Type.Optional(
            Type.String({ minLength: 1, maxLength: 100, description: "The version of the text the member saw" }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10 },
    ),
    ip_address: Type.Optional(Type.String({ minLength: 2, maxLength: 45, description: "The shopper's, when known" })),
    user_agent: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  },
  {
    additionalProperties: false,
    examples: [
      {
        changes: [
          {
            purpose: "email_marketing",
            granted: true,
            channel: "web",
            source: "checkout_checkbox",
            wording_version: "2026-01",
          },
        ],
        ip_address: "203.0.113.7",
      },
    ],
  },
);

export const AttributeDefinitionResponse = Type.Object(
  {
    object: Type.Literal("member_attribute"),
    key: Type.String(),
    type: Type.Enum(attributeTypes),
    label: Type.String(),
    required: Type.Boolean({ description: "The profile is not complete without it" }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "MemberAttribute" },
);

export const AttributeKeyParams = Type.Object({
  key: Type.String({ pattern: "^[a-z][a-z0-9_]{0,49}$", description: "snake_case, up to 50 characters" }),
});

export const DefineAttributeBody = Type.Object(
  {
    type: Type.Enum(attributeTypes, { description: "string, number, boolean or date (YYYY-MM-DD)" }),
    label: Type.String({ minLength: 1, maxLength: 200 }),
    required: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false, examples: [{ type: "string", label: "Shoe size", required: false }] },
);

/** The profile part of a create/update/upsert body, in service terms. */
export function profileFrom(body: {
  given_name?: string | null | undefined;
  family_name?: string | null | undefined;
  name_order?: "given_first" | "family_first" | null | undefined;
  birthday?: { month: number; day: number; year?: number | null | undefined } | null | undefined;
  locale?: string | null | undefined;
  country?: string | null | undefined;
  marketing_preferences?: Record<string, unknown> | undefined;
  attributes?: Record<string, unknown> | undefined;
  tags?: string[] | undefined;
}): ProfileInput {
  return {
    givenName: body.given_name,
    familyName: body.family_name,
    nameOrder: body.name_order,
    birthday: body.birthday,
    locale: body.locale,
    country: body.country,
    marketingPreferences: body.marketing_preferences,
    attributes: body.attributes,
    tags: body.tags,
  };
}
