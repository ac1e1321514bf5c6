import type { LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { bearer, type TestApp } from "./app.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field; expect() checks them.
export type Json = Record<string, any>;
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * The calls API tests make again and again: a request with a key, the body of an expected success,
 * and an expected problem+json (its status, code, type and detail all checked).
 */
export function apiCalls(t: () => TestApp) {
  function send(
    method: Method,
    key: string,
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return t().app.inject({
      method,
      url,
      headers: { ...bearer(key), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }
  async function ok(response: Promise<LightMyRequestResponse>, status = 200): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.json() as Json;
  }
  async function problem(response: Promise<LightMyRequestResponse>, status: number, code: string): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    expect(done.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const body = done.json() as Json;
    expect(body).toMatchObject({ type: `urn:laurel:problem:${code}`, status, code });
    expect(typeof body.detail).toBe("string");
    return body;
  }
  return { send, ok, problem };
}
