import type { Logger } from '../../../src/logger.js';
import type { Target } from '../../../src/queue/queue-names.js';
import type { SessionMemoryStore } from '../../../src/queue/session-memory-store.js';
import { isEmptyMemory, parseSessionMemory, type SessionMemory } from './session-memory.js';

/**
 * The worker's two calls around a run: the memory of this issue/PR before it (put on
 * `task.memory`), and the memory the run ended with after it. Redis holds opaque JSON;
 * here it is validated (zod, caps) before it reaches a prompt, and an invalid value is
 * no memory at all. A store failure never fails the run: the memory is a help, not state
 * the run depends on.
 */
export async function loadTaskMemory(
  store: Pick<SessionMemoryStore, 'load'>,
  target: Target,
  log: Logger,
): Promise<SessionMemory | undefined> {
  try {
    const memory = parseSessionMemory(await store.load(target));
    return memory && !isEmptyMemory(memory) ? memory : undefined;
  } catch (err) {
    log.warn({ err }, 'Session memory could not be loaded; the run starts without it');
    return undefined;
  }
}

/**
 * Stores the memory a run ended with under each target (the issue, and the PR it
 * opened, so a review round on the PR starts from the notes). Returns the bytes
 * stored, or null when nothing was.
 */
export async function saveTaskMemory(
  store: Pick<SessionMemoryStore, 'save'>,
  targets: Target[],
  memory: SessionMemory | undefined,
  log: Logger,
): Promise<number | null> {
  if (!memory || isEmptyMemory(memory)) return null;
  let bytes: number | null = null;
  for (const target of targets) {
    try {
      const saved = await store.save(target, memory);
      if (saved.saved) bytes = saved.bytes;
      else log.warn({ reason: saved.reason, number: target.number }, 'Session memory not stored');
    } catch (err) {
      log.warn({ err }, 'Session memory could not be stored');
    }
  }
  return bytes;
}
