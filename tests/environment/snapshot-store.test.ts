import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logger.js';
import { keyId, type SnapshotKey, SnapshotStore, scopeId } from '../../worker/environment/snapshot-store.js';
import { makeTmp } from '../workspace/fixtures.js';

const key = (lockfileHash = 'a'): SnapshotKey => ({
  imageId: 'sha256:img',
  setupCommand: 'npm ci',
  lockfileHash,
  cacheKeyGlobs: [],
});
const acme = { installationId: 1, repo: 'acme/widgets' };

describe('SnapshotStore', () => {
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let clock = 1_000_000;
  beforeEach(async () => {
    tmp = await makeTmp('pw-snapstore-');
    clock = 1_000_000;
  });
  afterEach(() => tmp.cleanup());

  const store = (over: Partial<ConstructorParameters<typeof SnapshotStore>[0]> = {}) =>
    new SnapshotStore({
      dir: join(tmp.dir, 'snaps'),
      maxRepoBytes: 1_000,
      maxTotalBytes: 2_500,
      maxAgeMs: 10_000,
      log: createSilentLogger(),
      now: () => clock,
      ...over,
    });
  const save = async (s: SnapshotStore, scope = acme, k = key(), bytes = 400) => {
    const draft = await s.begin();
    await writeFile(draft.workspaceTar, Buffer.alloc(bytes - 100));
    await writeFile(draft.homeTar, Buffer.alloc(100));
    return s.commit(draft, scope, k);
  };

  it('finds a committed snapshot only for the same scope and key', async () => {
    const s = store();
    const saved = await save(s);
    expect(saved?.bytes).toBe(400);
    expect(await s.find(acme, key())).toMatchObject({ bytes: 400 });
    expect(await s.find(acme, key('b'))).toBeNull();
    // Another installation of the same repository, or another repository: never shared.
    expect(await s.find({ installationId: 2, repo: 'acme/widgets' }, key())).toBeNull();
    expect(await s.find({ installationId: 1, repo: 'acme/gadgets' }, key())).toBeNull();
    // The key covers image, command and the cache-key globs.
    expect(keyId(key())).not.toBe(keyId({ ...key(), imageId: 'sha256:other' }));
    expect(keyId(key())).not.toBe(keyId({ ...key(), setupCommand: 'npm install' }));
    expect(keyId(key())).not.toBe(keyId({ ...key(), cacheKeyGlobs: ['x'] }));
    expect(scopeId({ ...acme, repoId: 5 })).toBe(
      scopeId({ installationId: 1, repo: 'acme/renamed', repoId: 5 }),
    );
  });

  it('replaces the snapshot of the same key', async () => {
    const s = store();
    await save(s, acme, key(), 300);
    await save(s, acme, key(), 500);
    expect((await s.find(acme, key()))?.bytes).toBe(500);
    expect(await readdir(join(tmp.dir, 'snaps', scopeId(acme)))).toHaveLength(1);
  });

  it('evicts the least recently used past the per-repository cap', async () => {
    const s = store();
    await save(s, acme, key('1'), 400);
    clock += 1;
    await save(s, acme, key('2'), 400);
    clock += 1;
    await s.find(acme, key('1')); // 1 is now more recent than 2
    clock += 1;
    await save(s, acme, key('3'), 400); // 1200 > 1000: the least recently used (2) goes
    expect(await s.find(acme, key('2'))).toBeNull();
    expect(await s.find(acme, key('1'))).not.toBeNull();
    expect(await s.find(acme, key('3'))).not.toBeNull();
  });

  it('evicts across repositories past the total cap, never the one just written', async () => {
    const s = store();
    for (let i = 0; i < 6; i++) {
      clock += 1;
      await save(s, { installationId: 1, repo: `acme/r${i}` }, key(), 500);
    }
    // 2500 total: five of 500 fit; the oldest repository's snapshot went.
    expect(await s.find({ installationId: 1, repo: 'acme/r0' }, key())).toBeNull();
    for (let i = 1; i < 6; i++)
      expect(await s.find({ installationId: 1, repo: `acme/r${i}` }, key())).not.toBeNull();
  });

  it('refuses a snapshot over the per-repository cap and drops expired ones', async () => {
    const s = store();
    expect(await save(s, acme, key('big'), 1_500)).toBeNull();
    expect(await s.find(acme, key('big'))).toBeNull();
    await save(s, acme, key('old'), 200);
    clock += 10_001;
    expect(await s.find(acme, key('old'))).toBeNull();
    expect(await readdir(join(tmp.dir, 'snaps', scopeId(acme)))).toEqual([]);
  });

  it('keeps its folder private: refuses a symlink in its place, files are 0600', async () => {
    const elsewhere = join(tmp.dir, 'elsewhere');
    await mkdir(elsewhere);
    await symlink(elsewhere, join(tmp.dir, 'link'));
    await expect(store({ dir: join(tmp.dir, 'link') }).begin()).rejects.toMatchObject({
      code: 'config_invalid',
    });
    const open = join(tmp.dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    await expect(store({ dir: open }).begin()).rejects.toMatchObject({ code: 'config_invalid' });
    const s = store();
    const saved = await save(s);
    const { statSync } = await import('node:fs');
    expect(statSync(join(tmp.dir, 'snaps')).mode & 0o777).toBe(0o700);
    expect(statSync(saved?.dir as string).mode & 0o077).toBe(0);
  });

  it('clears drafts a crashed worker left', async () => {
    const s = store();
    const draft = await s.begin();
    await writeFile(draft.workspaceTar, 'x');
    const fresh = store();
    await fresh.begin();
    expect(existsSync(draft.dir)).toBe(false);
  });
});
