import { type Logger, pino } from "pino";
import type { Config } from "./config.js";

export type { Logger };

/**
 * Logs never carry personal data or secrets: requests are logged by method, path (without the
 * query string, which may hold an email) and request id only, and known secret-bearing fields
 * are redacted wherever they appear.
 */
export function createLogger(
  config: Pick<Config, "logLevel" | "logFormat">,
  destination?: NodeJS.WritableStream,
): Logger {
  const options = {
    level: config.logLevel,
    redact: {
      paths: [
        "authorization",
        "*.authorization",
        "headers.authorization",
        "secret",
        "*.secret",
        "email",
        "*.email",
        "phone",
        "*.phone",
      ],
      censor: "[redacted]",
    },
    serializers: {
      req: (request: { method: string; url: string; id: string }) => ({
        id: request.id,
        method: request.method,
        path: request.url.split("?")[0],
      }),
      res: (reply: { statusCode: number }) => ({ status: reply.statusCode }),
    },
  };
  if (destination) return pino(options, destination as pino.DestinationStream);
  if (config.logFormat === "pretty") {
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { colorize: true, ignore: "pid,hostname" } },
    });
  }
  return pino(options);
}
