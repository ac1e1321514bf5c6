import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { type DatabaseHandle, isDatabaseReachable } from "../db/database.js";
import { AppError } from "../errors.js";
import { sendProblem } from "./problem.js";

/**
 * /healthz (the process answers), /readyz (and its database does), /metrics (Prometheus text).
 * Each app has its own metrics registry, so several apps in one process (tests) do not collide.
 */
export function registerObservability(app: FastifyInstance, deps: { database: DatabaseHandle }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "laurel_" });
  const requests = new Counter({
    name: "laurel_http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "laurel_http_request_duration_seconds",
    help: "Time to answer an HTTP request, by method and route pattern",
    labelNames: ["method", "route"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  app.addHook("onResponse", async (request, reply) => {
    // The route pattern, not the URL: ids and query strings would explode label cardinality.
    const route = request.routeOptions.url ?? "unmatched";
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    request.log.info({ req: request, res: reply, ms: Math.round(reply.elapsedTime * 10) / 10 }, "request completed");
  });

  app.get("/healthz", { schema: { hide: true }, config: { auth: "none" } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { hide: true }, config: { auth: "none" } }, async (_request, reply) => {
    if (await isDatabaseReachable(deps.database)) return { status: "ready" };
    return sendProblem(reply, new AppError("not_ready", "The database does not answer"));
  });
  app.get("/metrics", { schema: { hide: true }, config: { auth: "none" } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
  return registry;
}
