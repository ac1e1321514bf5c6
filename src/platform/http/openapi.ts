import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

/** OpenAPI 3.1 generated from the route schemas, served at /openapi.json and browsable at /docs. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Laurel API",
        version: "1",
        description:
          "Loyalty and membership engine. Authenticate with `Authorization: Bearer <key>`. Errors are " +
          "`application/problem+json` with a stable `code`. Every mutating request accepts an " +
          "`Idempotency-Key` header: a retry with the same key and body replays the first response.",
      },
      components: {
        securitySchemes: {
          secretKey: {
            type: "http",
            scheme: "bearer",
            description: "A secret key (sk_…): server-to-server, full access to one shop",
          },
          publishableKey: {
            type: "http",
            scheme: "bearer",
            description: "A publishable key (pk_…): storefront endpoints only",
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`) },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: true } });
  app.get("/openapi.json", { schema: { hide: true }, config: { auth: "none" } }, async () => app.swagger());
}
