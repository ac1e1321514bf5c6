import type { Clock } from "../clock.js";

export interface RateDecision {
  allowed: boolean;
  /** The bucket size: how many requests a key may send at once. */
  limit: number;
  remaining: number;
  retryAfterSeconds: number;
}

export interface RateLimiter {
  take(key: string): RateDecision;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per API key: `perSecond` tokens refill each second up to `burst`. Buckets live in
 * this process's memory, so with several Laurel processes behind a load balancer each enforces the
 * limit on its own share of the traffic.
 */
export function createRateLimiter(options: { perSecond: number; burst: number; clock: Clock }): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const { perSecond, burst, clock } = options;
  return {
    take(key) {
      const now = clock.now().getTime();
      const bucket = buckets.get(key) ?? { tokens: burst, updatedAt: now };
      const elapsedSeconds = Math.max(0, now - bucket.updatedAt) / 1000;
      bucket.tokens = Math.min(burst, bucket.tokens + elapsedSeconds * perSecond);
      bucket.updatedAt = now;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true, limit: burst, remaining: Math.floor(bucket.tokens), retryAfterSeconds: 0 };
      }
      const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
      return { allowed: false, limit: burst, remaining: 0, retryAfterSeconds };
    },
  };
}
