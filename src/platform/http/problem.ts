import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { AppError, type ErrorCode, type FieldError } from "../errors.js";
import { toFieldErrors } from "./validation.js";

/** RFC 9457 problem details, with Laurel's stable machine-readable `code`. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: "URI naming the problem type: urn:laurel:problem:<code>" }),
    title: Type.String({ description: "Short human summary of the problem type" }),
    status: Type.Integer({ description: "HTTP status code" }),
    code: Type.String({ description: "Stable machine-readable error code", examples: ["validation_failed"] }),
    detail: Type.String({ description: "What went wrong with this request" }),
    request_id: Type.Optional(Type.String({ description: "Id of the request, also in the X-Request-Id header" })),
    member_id: Type.Optional(
      Type.String({ description: "identifier_taken: the member who already holds the identifier" }),
    ),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          pointer: Type.String({ description: "JSON pointer to the bad field, e.g. /body/name" }),
          message: Type.String(),
        }),
      ),
    ),
  },
  { $id: "Problem", description: "An error, as application/problem+json" },
);

const problemReference = Type.Unsafe<unknown>({ $ref: "Problem#" });

/** Response schemas for the error statuses a route can answer, for OpenAPI. */
export function problemResponses(...statuses: number[]): Record<number, unknown> {
  const responses: Record<number, unknown> = {};
  for (const status of statuses) responses[status] = problemReference;
  return responses;
}

/** The problem+json body of an error (also used for the per-item errors of batch answers). */
export function toProblemBody(error: AppError, requestId: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: `urn:laurel:problem:${error.code}`,
    title: error.title,
    status: error.status,
    code: error.code,
    detail: error.message,
    request_id: requestId,
  };
  if (error.errors) body.errors = error.errors;
  if (error.extensions) Object.assign(body, error.extensions);
  return body;
}

export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  const body = toProblemBody(error, reply.request.id);
  return reply.code(error.status).type("application/problem+json").send(JSON.stringify(body));
}

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "payload_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_EMPTY_JSON_BODY: "malformed_json",
  FST_ERR_CTP_INVALID_JSON_BODY: "malformed_json",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "validation_failed",
};

/** Maps any error to an AppError: ours as they are, Fastify's by code, anything else to a 500. */
export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const errors: FieldError[] = toFieldErrors(
      fastifyError.validation as Parameters<typeof toFieldErrors>[0],
      fastifyError.validationContext ?? "body",
    );
    const summary = errors.map((field) => `${field.pointer} ${field.message}`).join("; ");
    return new AppError("validation_failed", summary, { errors });
  }
  const mapped = fastifyError.code ? fastifyCodes[fastifyError.code] : undefined;
  if (mapped) {
    const detail =
      mapped === "unsupported_media_type" ? "Send JSON with Content-Type: application/json" : fastifyError.message;
    return new AppError(mapped, detail, { cause: error });
  }
  return new AppError("internal_error", "Something went wrong on our side; the request id helps us find it", {
    cause: error,
  });
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.addSchema(ProblemSchema);
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toAppError(error);
    if (problem.status >= 500) request.log.error({ err: error }, "request failed");
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new AppError("route_not_found", `No endpoint ${request.method} ${request.url.split("?")[0]}`)),
  );
}
