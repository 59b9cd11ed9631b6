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
