import type { FastifyInstance } from "fastify";
import type { AppDeps } from "../../platform/deps.js";

export function registerExchangeRateRoutes(_app: FastifyInstance, _deps: AppDeps): void {}
