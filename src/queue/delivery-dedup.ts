import type { Redis } from 'ioredis';
import { keyPrefix } from './queue-names.js';

/**
 * At most one job per webhook delivery, ever: GitHub (or a person) redelivering a
 * delivery sends the same id, and each claim lives long enough to cover GitHub's
 * redelivery window. The claim is taken before the job is added and released if
 * adding fails, so a redelivery can try again.
 */
const DELIVERY_TTL_SECONDS = 3 * 24 * 60 * 60;

const deliveryKey = (prefix: string, deliveryId: string) => `${keyPrefix(prefix)}:delivery:${deliveryId}`;

/** True for the first claim of this delivery id; false when it was seen before. */
export async function claimDelivery(redis: Redis, prefix: string, deliveryId: string): Promise<boolean> {
  const first = await redis.set(deliveryKey(prefix, deliveryId), '1', 'EX', DELIVERY_TTL_SECONDS, 'NX');
  return first !== null;
}

/** Gives a claim back (the job never reached Redis), so a redelivery is handled again. */
export async function releaseDelivery(redis: Redis, prefix: string, deliveryId: string): Promise<void> {
  await redis.del(deliveryKey(prefix, deliveryId));
}

// Read and set in one script, so two copies of a body racing in under different ids
// cannot both be first.
const CLAIM_SIGNED_BODY = `
local seen = redis.call('GET', KEYS[1])
if seen then return seen end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
`;

/**
 * Marks a signed body as received under `deliveryId`; false when the same signed
 * body was already received under another delivery id (a replay: the id header is
 * not signed). The same id again is GitHub redelivering it, which the handlers'
 * own dedup deals with. `signature` is the verified `X-Hub-Signature-256`, an HMAC
 * of the body, so it names the body without hashing it again; only pass one that
 * was verified, or anyone could fill Redis.
 */
export async function claimSignedBody(
  redis: Redis,
  prefix: string,
  signature: string,
  deliveryId: string,
): Promise<boolean> {
  const key = `${keyPrefix(prefix)}:signed-body:${signature.replace(/^sha256=/, '')}`;
  const owner = await redis.eval(CLAIM_SIGNED_BODY, 1, key, deliveryId, DELIVERY_TTL_SECONDS);
  return owner === deliveryId;
}
