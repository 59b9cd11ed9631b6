import type { Redis } from 'ioredis';
import { CancelIntent } from './job-data.js';
import { keyPrefix } from './queue-names.js';

/**
 * Cancel intents for jobs already running. The app cannot stop a worker's
 * process, so it records the wish where the worker can see it: a key the worker
 * checks between steps (survives a missed message) and a pub/sub message for a
 * prompt stop. Contract documented in src/queue/README.md.
 */
const INTENT_TTL_SECONDS = 24 * 60 * 60;

export function cancelChannel(prefix: string): string {
  return `${keyPrefix(prefix)}:cancel`;
}

export function cancelKey(prefix: string, jobId: string): string {
  return `${keyPrefix(prefix)}:cancel:${jobId}`;
}

export async function requestCancel(redis: Redis, prefix: string, intent: CancelIntent): Promise<void> {
  const value = JSON.stringify(CancelIntent.parse(intent));
  await redis.multi().set(cancelKey(prefix, intent.jobId), value, 'EX', INTENT_TTL_SECONDS).exec();
  await redis.publish(cancelChannel(prefix), value);
}

/** The intent for this job, or null; the worker calls this before and between steps. */
export async function findCancelIntent(
  redis: Redis,
  prefix: string,
  jobId: string,
): Promise<CancelIntent | null> {
  const raw = await redis.get(cancelKey(prefix, jobId));
  if (raw === null) return null;
  const parsed = CancelIntent.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}

export async function clearCancelIntent(redis: Redis, prefix: string, jobId: string): Promise<void> {
  await redis.del(cancelKey(prefix, jobId));
}

/**
 * Calls `onCancel` for each intent published from now on. `subscriber` must be
 * a dedicated connection (Redis puts it in subscribe mode). Returns an unsubscribe.
 */
export async function subscribeToCancels(
  subscriber: Redis,
  prefix: string,
  onCancel: (intent: CancelIntent) => void,
): Promise<() => Promise<void>> {
  const channel = cancelChannel(prefix);
  const listener = (ch: string, message: string) => {
    if (ch !== channel) return;
    try {
      const parsed = CancelIntent.safeParse(JSON.parse(message));
      if (parsed.success) onCancel(parsed.data);
    } catch {
      // A malformed message is not an intent; ignoring it is the safe reading.
    }
  };
  subscriber.on('message', listener);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off('message', listener);
    await subscriber.unsubscribe(channel);
  };
}
