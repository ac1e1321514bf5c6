/**
 * One error type for everything a service or the HTTP layer refuses on purpose. Each code has one
 * HTTP status (the table below), and the error handler turns it into application/problem+json.
 */
export const errorStatuses = {
  validation_failed: 400,
  malformed_json: 400,
  invalid_cursor: 400,
  missing_api_key: 401,
  invalid_api_key: 401,
  customer_token_required: 401,
  invalid_customer_token: 401,
  invalid_webhook_signature: 401,
  secret_key_required: 403,
  route_not_found: 404,
  shop_not_found: 404,
  key_not_found: 404,
  member_not_found: 404,
  transaction_not_found: 404,
  reservation_not_found: 404,
  event_type_not_found: 404,
  rule_not_found: 404,
  event_not_found: 404,
  integration_not_found: 404,
  exchange_rate_not_found: 404,
  tier_program_not_found: 404,
  reward_not_found: 404,
  redemption_not_found: 404,
  code_not_found: 404,
  checkout_points_not_found: 404,
  idempotency_key_reused: 409,
  idempotency_request_in_progress: 409,
  last_secret_key: 409,
  reservation_not_active: 409,
  already_reversed: 409,
  not_pending: 409,
  reservations_active: 409,
  identifier_taken: 409,
  member_not_mergeable: 409,
  event_conflict: 409,
  rule_archived: 409,
  integration_account_taken: 409,
  tier_in_use: 409,
  reward_unavailable: 409,
  out_of_stock: 409,
  redemption_limit_reached: 409,
  code_already_used: 409,
  redemption_not_cancellable: 409,
  cart_taken: 409,
  store_credit_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_field_value: 422,
  insufficient_points: 422,
  transaction_not_reversible: 422,
  unknown_event_type: 422,
  rate_limited: 429,
  internal_error: 500,
  not_ready: 503,
} as const;

export type ErrorCode = keyof typeof errorStatuses;

const titles: Record<ErrorCode, string> = {
  validation_failed: "The request is not valid",
  malformed_json: "The request body is not valid JSON",
  invalid_cursor: "The pagination cursor is not valid",
  missing_api_key: "An API key is required",
  invalid_api_key: "The API key is not valid",
  customer_token_required: "A customer token is required",
  invalid_customer_token: "The customer token is not valid",
  secret_key_required: "This endpoint needs a secret key",
  route_not_found: "No such endpoint",
  shop_not_found: "Shop not found",
  key_not_found: "API key not found",
  member_not_found: "Member not found",
  transaction_not_found: "Points transaction not found",
  reservation_not_found: "Points reservation not found",
  event_type_not_found: "Event type not found",
  rule_not_found: "Earning rule not found",
  event_not_found: "Event not found",
  integration_not_found: "Integration not found",
  invalid_webhook_signature: "The webhook signature is not valid",
  event_conflict: "The external id already names another event",
  rule_archived: "The earning rule is archived",
  integration_account_taken: "The store is connected to another shop",
  unknown_event_type: "Unknown event type",
  exchange_rate_not_found: "Exchange rate not found",
  tier_program_not_found: "The shop has no tier program",
  tier_in_use: "Members hold a tier the change removes",
  reward_not_found: "Reward not found",
  redemption_not_found: "Redemption not found",
  code_not_found: "No such code",
  checkout_points_not_found: "No points on this cart",
  cart_taken: "Another member's points are on this cart",
  store_credit_conflict: "The order already spent store credit",
  reward_unavailable: "The reward cannot be redeemed now",
  out_of_stock: "The reward is out of stock",
  redemption_limit_reached: "The member has redeemed this reward as often as allowed",
  code_already_used: "The code has been used on another order",
  redemption_not_cancellable: "The redemption cannot be cancelled",
  idempotency_key_reused: "Idempotency key already used with a different request",
  idempotency_request_in_progress: "A request with this idempotency key is still in progress",
  last_secret_key: "The last active secret key cannot be revoked",
  reservation_not_active: "The reservation is no longer active",
  already_reversed: "The transaction has already been fully reversed",
  not_pending: "The points are not pending",
  reservations_active: "The member has active reservations",
  identifier_taken: "The identifier belongs to another member",
  member_not_mergeable: "These members cannot be merged",
  payload_too_large: "The request body is too large",
  unsupported_media_type: "Unsupported content type",
  invalid_field_value: "A field has a value Laurel cannot accept",
  insufficient_points: "Not enough available points",
  transaction_not_reversible: "This kind of transaction cannot be reversed",
  rate_limited: "Too many requests",
  internal_error: "Internal error",
  not_ready: "Not ready",
};

/** One invalid field, addressed by a JSON pointer into the request (`/body/name`). */
export interface FieldError {
  pointer: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;
  /** Extra problem fields for this code (e.g. `member_id` on identifier_taken). */
  readonly extensions: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      extensions?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(detail ?? titles[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = errorStatuses[code];
    this.title = titles[code];
    this.errors = options.errors;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** 422 `invalid_field_value` for one field: what JSON Schema cannot check (a sum, a relation). */
export function invalidField(pointer: string, message: string): AppError {
  return new AppError("invalid_field_value", message, { errors: [{ pointer, message }] });
}
