import type {
  ConsentChannel,
  ConsentPurpose,
  IdentifierKind,
  MemberIdentifiersTable,
  MemberStatus,
  MembersTable,
  NameOrder,
} from "./tables.js";

/**
 * The member as services pass it around, and its public JSON: what the API returns and what
 * `member.*` events carry, so both read the same shape.
 */
export interface Identifier {
  kind: IdentifierKind;
  value: string;
  verifiedAt: string | null;
  createdAt: string;
}

export interface Member {
  id: string;
  shopId: string;
  status: MemberStatus;
  givenName: string | null;
  familyName: string | null;
  nameOrder: NameOrder | null;
  birthday: { month: number; day: number; year: number | null } | null;
  locale: string | null;
  country: string | null;
  marketingPreferences: Record<string, unknown>;
  attributes: Record<string, unknown>;
  /** Trimmed, unique case-insensitively (the first spelling kept), in the order given. */
  tags: string[];
  identifiers: Identifier[];
  profileCompletedAt: string | null;
  joinedAt: string | null;
  mergedIntoMemberId: string | null;
  createdAt: string;
  updatedAt: string;
}

export function toIdentifier(row: MemberIdentifiersTable): Identifier {
  return { kind: row.kind, value: row.value, verifiedAt: row.verified_at, createdAt: row.created_at };
}

export function toMember(row: MembersTable, identifiers: MemberIdentifiersTable[]): Member {
  return {
    id: row.id,
    shopId: row.shop_id,
    status: row.status,
    givenName: row.given_name,
    familyName: row.family_name,
    nameOrder: row.name_order,
    birthday:
      row.birthday_month !== null && row.birthday_day !== null
        ? { month: row.birthday_month, day: row.birthday_day, year: row.birthday_year }
        : null,
    locale: row.locale,
    country: row.country,
    marketingPreferences: JSON.parse(row.marketing_preferences) as Record<string, unknown>,
    attributes: JSON.parse(row.attributes) as Record<string, unknown>,
    tags: JSON.parse(row.tags) as string[],
    identifiers: identifiers.filter((identifier) => identifier.member_id === row.id).map(toIdentifier),
    profileCompletedAt: row.profile_completed_at,
    joinedAt: row.joined_at,
    mergedIntoMemberId: row.merged_into_member_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toMemberJson(member: Member) {
  const first = (kind: IdentifierKind) =>
    member.identifiers.find((identifier) => identifier.kind === kind)?.value ?? null;
  return {
    id: member.id,
    object: "member" as const,
    status: member.status,
    email: first("email"),
    phone: first("phone"),
    given_name: member.givenName,
    family_name: member.familyName,
    name_order: member.nameOrder,
    birthday: member.birthday,
    locale: member.locale,
    country: member.country,
    marketing_preferences: member.marketingPreferences,
    attributes: member.attributes,
    tags: member.tags,
    identifiers: member.identifiers.map((identifier) => ({
      kind: identifier.kind,
      value: identifier.value,
      verified_at: identifier.verifiedAt,
      created_at: identifier.createdAt,
    })),
    profile_completed_at: member.profileCompletedAt,
    joined_at: member.joinedAt,
    merged_into_member_id: member.mergedIntoMemberId,
    created_at: member.createdAt,
    updated_at: member.updatedAt,
  };
}

export interface Consent {
  id: string;
  purpose: ConsentPurpose;
  channel: ConsentChannel;
  status: "granted" | "withdrawn";
  source: string;
  wordingVersion: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  recordedAt: string;
}

/** A purpose's current state: granted only when its latest record grants it. */
export interface CurrentConsent {
  purpose: ConsentPurpose;
  granted: boolean;
  latest: Consent | null;
}

/** A consent record as the API shows it. */
export function toConsentJson(consent: Consent) {
  return {
    id: consent.id,
    purpose: consent.purpose,
    channel: consent.channel,
    status: consent.status,
    source: consent.source,
    wording_version: consent.wordingVersion,
    ip_address: consent.ipAddress,
    user_agent: consent.userAgent,
    recorded_at: consent.recordedAt,
  };
}

/** A member's current consent per purpose, as GET …/consents (and the storefront's) return it. */
export function toConsentsJson(memberId: string, purposes: CurrentConsent[]) {
  return {
    object: "member_consents" as const,
    member_id: memberId,
    purposes: purposes.map((entry) => ({
      purpose: entry.purpose,
      granted: entry.granted,
      latest: entry.latest ? toConsentJson(entry.latest) : null,
    })),
  };
}
