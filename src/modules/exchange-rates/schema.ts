import { Type } from "typebox";
import type { ExchangeRate } from "./repository.js";
import { maxRateFractionDigits, maxRateSignificantDigits } from "./service.js";

const Timestamp = Type.String({ format: "date-time" });

export const CurrencyParams = Type.Object({
  currency: Type.String({
    pattern: "^[A-Z]{3}$",
    description: "ISO 4217 code of the foreign currency, upper case",
    examples: ["JPY"],
  }),
});

export const ExchangeRateResponse = Type.Object(
  {
    object: Type.Literal("exchange_rate"),
    currency: Type.String({ description: "ISO 4217 code of the foreign currency", examples: ["JPY"] }),
    rate: Type.String({
      description:
        "What one whole unit of `currency` is worth in whole units of the shop's base_currency, as a normalized decimal string",
      examples: ["0.0067"],
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "ExchangeRate" },
);

export const ExchangeRateListResponse = Type.Object({
  object: Type.Literal("list"),
  base_currency: Type.String({ description: "The shop currency every rate converts into", examples: ["EUR"] }),
  data: Type.Array(ExchangeRateResponse, { description: "Ordered by currency code" }),
});

export const SetExchangeRateBody = Type.Object(
  {
    rate: Type.String({
      minLength: 1,
      maxLength: 40,
      description: `A positive decimal string: digits and at most one point, at most ${maxRateFractionDigits} digits after it and ${maxRateSignificantDigits} significant digits; no sign, exponent or spaces. A string, not a JSON number, so no precision is lost on the way. Stored normalized ("1.50" → "1.5").`,
      examples: ["0.0067"],
    }),
  },
  { additionalProperties: false, examples: [{ rate: "0.0067" }, { rate: "2.9832" }] },
);

export function toExchangeRateResponse(exchangeRate: ExchangeRate) {
  return {
    object: "exchange_rate" as const,
    currency: exchangeRate.currency,
    rate: exchangeRate.rate,
    created_at: exchangeRate.createdAt,
    updated_at: exchangeRate.updatedAt,
  };
}
