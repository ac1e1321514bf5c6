import { randomBytes } from "node:crypto";

/**
 * Every public id is a type prefix plus a 26-character, time-sortable random part
 * (ULID layout: 48 bits of milliseconds, 80 bits of randomness, Crockford base32).
 * Ids made in one process within the same millisecond stay in creation order.
 */
export const idPrefixes = {
  shop: "shop",
  apiKey: "key",
  request: "req",
  member: "mem",
  ledgerTransaction: "txn",
  lot: "lot",
  reservation: "res",
  outboxEvent: "evt",
  consent: "cns",
  event: "ev",
  rule: "rul",
  importRun: "imp",
  tierChange: "tch",
  tierSweep: "tsw",
  reward: "rwd",
  redemption: "rdm",
  storeCredit: "scr",
  orderOutcome: "oro",
} as const;

export type IdKind = keyof typeof idPrefixes;

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// The last randomness used per millisecond. Kept per millisecond (not just the latest) because
// ids are made for more than one clock: request ids on the wall clock and domain ids on the
// injected clock, which in tests stands still while the wall clock runs.
const lastRandomByMillisecond = new Map<number, Uint8Array>();
const rememberedMilliseconds = 4096;

function nextRandom(millisecond: number): Uint8Array {
  const previous = lastRandomByMillisecond.get(millisecond);
  let next: Uint8Array;
  if (previous) {
    // Same millisecond: increment the previous randomness so ids remain strictly increasing.
    next = Uint8Array.from(previous);
    for (let index = next.length - 1; index >= 0; index--) {
      const byte = next[index] ?? 0;
      if (byte < 255) {
        next[index] = byte + 1;
        break;
      }
      next[index] = 0;
    }
  } else {
    if (lastRandomByMillisecond.size >= rememberedMilliseconds) lastRandomByMillisecond.clear();
    next = new Uint8Array(randomBytes(10));
  }
  lastRandomByMillisecond.set(millisecond, next);
  return next;
}

function encodeUlid(millisecond: number, random: Uint8Array): string {
  let time = "";
  let remaining = millisecond;
  for (let index = 0; index < 10; index++) {
    time = alphabet[remaining % 32] + time;
    remaining = Math.floor(remaining / 32);
  }
  let bits = 0n;
  for (const byte of random) bits = (bits << 8n) | BigInt(byte);
  let randomPart = "";
  for (let index = 0; index < 16; index++) {
    randomPart = alphabet[Number(bits & 31n)] + randomPart;
    bits >>= 5n;
  }
  return time + randomPart;
}

export function newId(kind: IdKind, now: Date = new Date()): string {
  const millisecond = now.getTime();
  return `${idPrefixes[kind]}_${encodeUlid(millisecond, nextRandom(millisecond))}`;
}

const idPattern = /^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `value` has the shape of an id of this kind (it may still not exist). */
export function isId(kind: IdKind, value: string): boolean {
  return value.startsWith(`${idPrefixes[kind]}_`) && idPattern.test(value);
}
