import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logger.js';
import { createSessionMemoryStore, sessionMemoryKey } from '../../src/queue/session-memory-store.js';
import { loadTaskMemory, saveTaskMemory } from '../../worker/agent/memory/memory-carry.js';
import { emptyMemory, type SessionMemory } from '../../worker/agent/memory/session-memory.js';
import { connectRedis, deletePrefix, uniquePrefix } from './redis-helpers.js';

const redis = connectRedis();
const prefix = uniquePrefix('memory');
const log = createSilentLogger();
const store = createSessionMemoryStore(redis, prefix, { retentionDays: 90 });

const repoA = { owner: 'octo', name: 'hello', id: 101 };
const memory: SessionMemory = {
  ...emptyMemory(),
  understanding: 'The parser drops escaped quotes',
  decisions: [{ decision: 'Fix in the tokenizer', reason: 'the parser only sees tokens' }],
  progress: ['Reproduced with npm test'],
};

beforeAll(async () => {
  await redis.ping();
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('session memory store (Redis)', () => {
  it('round-trips per installation, repository id and number, with the retention as TTL', async () => {
    const target = { installationId: 1, repo: repoA, number: 7 };
    expect(await store.save(target, memory)).toEqual({
      saved: true,
      bytes: Buffer.byteLength(JSON.stringify(memory)),
    });
    expect(await store.load(target)).toEqual(memory);
    const ttl = await redis.ttl(sessionMemoryKey(prefix, target) as string);
    expect(ttl).toBeGreaterThan(89 * 24 * 3600);
    expect(ttl).toBeLessThanOrEqual(90 * 24 * 3600);
  });

  it('never shows one issue, repository or installation the memory of another', async () => {
    const target = { installationId: 1, repo: repoA, number: 8 };
    await store.save(target, memory);
    // Another issue of the same repository, the same number in another repository (even one
    // re-created under the same name: a new id), and another installation: nothing.
    expect(await store.load({ ...target, number: 9 })).toBeNull();
    expect(await store.load({ ...target, repo: { ...repoA, id: 202 } })).toBeNull();
    expect(await store.load({ ...target, repo: { owner: 'other', name: 'repo', id: 303 } })).toBeNull();
    expect(await store.load({ ...target, installationId: 2 })).toBeNull();
    expect(await loadTaskMemory(store, { ...target, number: 9 }, log)).toBeUndefined();
  });

  it('keeps no memory for a target without a repository id (a name alone could be re-used)', async () => {
    const target = { installationId: 1, repo: { owner: 'octo', name: 'hello' }, number: 7 };
    expect(await store.save(target, memory)).toEqual({ saved: false, reason: 'no-repo-id' });
    expect(await store.load(target)).toBeNull();
  });

  it('refuses values past the cap and reads an oversized or corrupt value as no memory', async () => {
    const target = { installationId: 1, repo: repoA, number: 10 };
    expect(await store.save(target, { big: 'x'.repeat(20_000) })).toEqual({
      saved: false,
      reason: 'too-large',
    });
    await redis.set(sessionMemoryKey(prefix, target) as string, '{not json');
    expect(await store.load(target)).toBeNull();
    await redis.set(sessionMemoryKey(prefix, target) as string, JSON.stringify({ big: 'x'.repeat(20_000) }));
    expect(await store.load(target)).toBeNull();
  });

  it('the worker helpers validate what comes back: a value that is not a memory is none', async () => {
    const target = { installationId: 3, repo: repoA, number: 11 };
    await store.save(target, { understanding: 42, decisions: 'all of them' });
    expect(await loadTaskMemory(store, target, log)).toBeUndefined();
    const issue = { installationId: 3, repo: repoA, number: 12 };
    const pr = { ...issue, number: 13 };
    expect(await saveTaskMemory(store, [issue, pr], memory, log)).toBe(
      Buffer.byteLength(JSON.stringify(memory)),
    );
    expect(await loadTaskMemory(store, pr, log)).toEqual(memory);
    expect(await saveTaskMemory(store, [{ ...issue, number: 14 }], emptyMemory(), log)).toBeNull();
    expect(await store.load({ ...issue, number: 14 })).toBeNull();
    await store.forget(pr);
    expect(await store.load(pr)).toBeNull();
  });
});
