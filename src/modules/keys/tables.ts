export type ApiKeyKind = "secret" | "publishable";

export interface ApiKeysTable {
  shop_id: string;
  id: string;
  kind: ApiKeyKind;
  name: string;
  /** The first characters of the token, kept so a merchant can tell keys apart. */
  display_prefix: string;
  /** SHA-256 of the whole token, hex. The token itself is never stored. */
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
