export type { ExchangeRate } from "./repository.js";
export { registerExchangeRateRoutes } from "./routes.js";
export { toExchangeRateResponse } from "./schema.js";
export {
  convertFromShopCurrency,
  convertMinorUnits,
  convertToShopCurrency,
  deleteExchangeRate,
  type ExchangeRateList,
  getExchangeRate,
  listExchangeRates,
  maxRateFractionDigits,
  maxRateSignificantDigits,
  normalizeRate,
  parseRate,
  type SetExchangeRateInput,
  type SetExchangeRateResult,
  setExchangeRate,
} from "./service.js";
