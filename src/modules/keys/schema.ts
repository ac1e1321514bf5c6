import { Type } from "typebox";
import { PageQuery } from "../../platform/http/pagination.js";
import type { ApiKey } from "./repository.js";

export const ApiKeyResponse = Type.Object(
  {
    id: Type.String({ examples: ["key_01JD3M8Q6V9KX2T4R7B5N0CZHF"] }),
    object: Type.Literal("api_key"),
    kind: Type.Union([Type.Literal("secret"), Type.Literal("publishable")], {
      description: "secret: full server-side access to the shop; publishable: storefront endpoints only",
    }),
    name: Type.String({ examples: ["Shopify app"] }),
    display_prefix: Type.String({
      description: "The first characters of the key, to tell keys apart",
      examples: ["sk_Q2hhcmxp"],
    }),
    created_at: Type.String({ format: "date-time" }),
    last_used_at: Type.Union([Type.String({ format: "date-time" }), Type.Null()], {
      description: "When the key last authenticated a request (updated at most once a minute)",
    }),
    revoked_at: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  },
  { $id: "ApiKey" },
);

export const CreatedApiKeyResponse = Type.Object({
  ...ApiKeyResponse.properties,
  token: Type.String({ description: "The key itself. Shown only in this response; store it now." }),
});

export const CreateApiKeyBody = Type.Object(
  {
    kind: Type.Union([Type.Literal("secret"), Type.Literal("publishable")]),
    name: Type.String({ minLength: 1, maxLength: 200, description: "What the key is for" }),
  },
  { additionalProperties: false, examples: [{ kind: "secret", name: "Shopify app" }] },
);

export const ListApiKeysQuery = Type.Object(
  {
    ...PageQuery.properties,
    include_revoked: Type.Boolean({ default: false, description: "Also list revoked keys" }),
  },
  { additionalProperties: false },
);

export const KeyIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export function toApiKeyResponse(key: ApiKey) {
  return {
    id: key.id,
    object: "api_key" as const,
    kind: key.kind,
    name: key.name,
    display_prefix: key.displayPrefix,
    created_at: key.createdAt,
    last_used_at: key.lastUsedAt,
    revoked_at: key.revokedAt,
  };
}
