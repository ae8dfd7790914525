/**
 * HTTP errors with a stable code. Every error leaves the service as JSON:
 * `{ "error": { "code": "...", "message": "...", "details": [...] } }`.
 * Tests and clients match on `code`, never on the message.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const ERROR_CODES = {
  malformedJson: "REQ_ERR_MALFORMED_JSON",
  validation: "REQ_ERR_VALIDATION",
  unsupportedMediaType: "REQ_ERR_UNSUPPORTED_MEDIA_TYPE",
  bodyTooLarge: "REQ_ERR_BODY_TOO_LARGE",
  notFound: "REQ_ERR_NOT_FOUND",
  idempotencyConflict: "ORDER_ERR_IDEMPOTENCY_CONFLICT",
  brokerUnavailable: "BROKER_ERR_UNAVAILABLE",
  internal: "INTERNAL_ERR",
} as const;

/** Maps what body-parser throws (it sets `type` and `status`) to our errors. */
export function fromBodyParserError(error: unknown): HttpError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  switch (type) {
    case "entity.parse.failed":
      return new HttpError(400, ERROR_CODES.malformedJson, "request body is not valid JSON");
    case "entity.too.large": {
      const limit = (error as { limit?: number }).limit;
      return new HttpError(413, ERROR_CODES.bodyTooLarge, `request body is larger than ${limit} bytes`);
    }
    case "encoding.unsupported":
    case "charset.unsupported":
      return new HttpError(415, ERROR_CODES.unsupportedMediaType, "request body encoding or charset is not supported");
    case "request.aborted":
    case "request.size.invalid":
      return new HttpError(400, ERROR_CODES.malformedJson, "request body was cut short");
    default:
      return undefined;
  }
}
