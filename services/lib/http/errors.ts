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
  headersTooLarge: "REQ_ERR_HEADERS_TOO_LARGE",
  timeout: "REQ_ERR_TIMEOUT",
  badHttp: "REQ_ERR_BAD_HTTP",
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
      return fromOtherClientError(error);
  }
}

/**
 * Other errors Express raises about the request itself, with a 4xx `status` but no `type`:
 * a path parameter that is not valid percent-encoding (the router), a body that does not
 * decode with its Content-Encoding (body-parser wraps the zlib error). Without this they
 * would fall through to a 500 as if the service had failed.
 */
function fromOtherClientError(error: unknown): HttpError | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status !== "number" || status < 400 || status > 499) return undefined;
  const message = String((error as { message?: unknown }).message);
  if (message.startsWith("Failed to decode param")) {
    return new HttpError(400, ERROR_CODES.validation, "the URL path is not valid percent-encoding", [
      { field: "path", message: "is not valid percent-encoding" },
    ]);
  }
  if (status === 400) {
    return new HttpError(400, ERROR_CODES.malformedJson, "request body could not be decoded");
  }
  return new HttpError(status, ERROR_CODES.validation, "request refused");
}
