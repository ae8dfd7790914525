/**
 * The Express app every service starts from: request metrics, liveness, readiness and
 * metrics endpoints, a JSON body parser with a size limit, JSON 404s, and one error handler
 * that never answers with HTML or a stack trace.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from "express";
import { OPERATIONAL_PATHS } from "../../../contract/index.js";
import type { Logger } from "../observability/logger.js";
import type { ServiceMetrics } from "../observability/metrics.js";
import { ERROR_CODES, HttpError, fromBodyParserError } from "./errors.js";

export interface HttpAppOptions {
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  /** True when the service can do its work (broker connected, topology declared). */
  readonly isReady: () => boolean;
  /** Mounts the service's own routes. */
  readonly routes: (app: Express) => void;
}

/** Largest JSON body accepted; bigger bodies get 413. */
export const JSON_BODY_LIMIT = "32kb";

export function createHttpApp(options: HttpAppOptions): Express {
  const { logger, metrics } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use(observeRequests(metrics));

  app.get(OPERATIONAL_PATHS.health, (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get(OPERATIONAL_PATHS.ready, (_req, res) => {
    const ready = options.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not_ready" });
  });
  app.get(OPERATIONAL_PATHS.metrics, async (_req, res) => {
    const { contentType, body } = await metrics.exposition();
    res.type(contentType).send(body);
  });

  options.routes(app);

  app.use((req, _res, next) => {
    next(new HttpError(404, ERROR_CODES.notFound, `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(logger));
  return app;
}

/**
 * Answers requests that Node's HTTP parser refuses before Express sees them (headers over
 * 16 KB, a method or request line it cannot parse, a bad Content-Length) with the same JSON
 * error body as every other refusal; Node's own answer is a bare status line.
 */
export function answerClientErrorsWithJson(server: Server): void {
  server.on("clientError", (error: Error & { code?: string }, socket: Socket) => {
    if (error.code === "ECONNRESET" || !socket.writable || (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, reason, code, message] =
      error.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", ERROR_CODES.headersTooLarge, "request headers are larger than 16 KB"]
        : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "Request Timeout", ERROR_CODES.timeout, "the request was not received in time"]
          : [400, "Bad Request", ERROR_CODES.badHttp, "the request is not valid HTTP/1.1"];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/**
 * Parses a JSON body for one route: 415 unless the content type is JSON, 413 past the limit,
 * 400 for malformed JSON. Non-object JSON (`"x"`, `null`) is let through for the route's
 * schema to reject with the field it expected.
 */
export function jsonBody(): RequestHandler[] {
  return [
    (req, _res, next) => {
      if (!req.is("application/json")) {
        next(
          new HttpError(
            415,
            ERROR_CODES.unsupportedMediaType,
            `expected Content-Type application/json, got ${req.get("content-type") ?? "none"}`,
          ),
        );
        return;
      }
      next();
    },
    express.json({ limit: JSON_BODY_LIMIT, strict: false, type: "application/json" }),
  ];
}

/** The route template that served a request (`/payment/:orderId`), never the raw URL. */
function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === "string" ? `${req.baseUrl}${path}` : "unmatched";
}

function observeRequests(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpRequestDuration.startTimer();
    res.on("finish", () => {
      end({ method: req.method, route: routeOf(req), status_code: String(res.statusCode) });
    });
    next();
  };
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const known = error instanceof HttpError ? error : fromBodyParserError(error);
    const httpError =
      known ?? new HttpError(500, ERROR_CODES.internal, "internal error; the request was not processed");
    const context = { method: req.method, route: routeOf(req), status: httpError.status, code: httpError.code };
    if (httpError.status >= 500) logger.error({ ...context, err: error }, "request failed");
    else logger.info({ ...context, reason: httpError.message }, "request refused");
    if (res.headersSent) return;
    const body: Record<string, unknown> = { code: httpError.code, message: httpError.message };
    if (httpError.details !== undefined) body.details = httpError.details;
    res.status(httpError.status).json({ error: body });
  };
}
