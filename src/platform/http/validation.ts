import { Ajv, type ErrorObject } from "ajv";
import addFormatsModule from "ajv-formats";
import type { FastifyRequest, FastifySchemaCompiler } from "fastify";
import type { FieldError } from "../errors.js";

// ajv-formats is CommonJS; under ESM its plugin may arrive wrapped in a default export.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

function createAjv(coerceTypes: boolean): Ajv {
  // removeAdditional stays off: an unknown field is an error the caller should see, not data we
  // silently drop. allErrors reports every bad field at once.
  const ajv = new Ajv({ allErrors: true, coerceTypes, useDefaults: true, removeAdditional: false, strict: false });
  addFormats(ajv);
  return ajv;
}

// Query strings, path parameters and headers arrive as text and are coerced to their declared
// types; JSON bodies are not, so `"points": "5"` is a wrong type rather than a silent 5.
const coercing = createAjv(true);
const strict = createAjv(false);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === "body" ? strict : coercing;
  return ajv.compile(schema as object);
};

/** Turns ajv errors into one FieldError per bad field, addressed by JSON pointer from the request part. */
export function toFieldErrors(errors: ErrorObject[], part: string): FieldError[] {
  return errors.map((error) => {
    let pointer = `/${part}${error.instancePath}`;
    let message = error.message ?? "is not valid";
    if (error.keyword === "additionalProperties") {
      const extra = String((error.params as { additionalProperty?: string }).additionalProperty);
      pointer = `${pointer}/${extra}`;
      message = "is not a known field";
    } else if (error.keyword === "required") {
      const missing = String((error.params as { missingProperty?: string }).missingProperty);
      pointer = `${pointer}/${missing}`;
      message = "is required";
    }
    return { pointer, message };
  });
}

/**
 * A `preValidation` hook for commands whose body has no required field: a POST with no body at
 * all is the empty command `{}`. Only an absent body; JSON `null` stays a wrong type (400).
 */
export async function absentBodyAsEmptyObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) request.body = {};
}
