import type { FastifyInstance } from "fastify";
import type { AppDeps } from "../../platform/deps.js";

export function registerEventTypeRoutes(_app: FastifyInstance, _deps: AppDeps): void {}
