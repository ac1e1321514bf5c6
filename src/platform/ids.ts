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
} as const;

export type IdKind = keyof typeof idPrefixes;

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let lastMillisecond = -1;
let lastRandom = new Uint8Array(10);

function nextRandom(millisecond: number): Uint8Array {
  if (millisecond === lastMillisecond) {
    // Same millisecond: increment the previous randomness so ids remain strictly increasing.
    const next = Uint8Array.from(lastRandom);
    for (let index = next.length - 1; index >= 0; index--) {
      const byte = next[index] ?? 0;
      if (byte < 255) {
        next[index] = byte + 1;
        break;
      }
      next[index] = 0;
    }
    lastRandom = next;
    return next;
  }
  lastMillisecond = millisecond;
  lastRandom = new Uint8Array(randomBytes(10));
  return lastRandom;
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
