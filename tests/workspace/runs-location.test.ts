import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePrivateDir, resolveRunsRoot } from '../../worker/workspace/runs-location.js';

describe('runs location', () => {
  // Made in beforeAll, not while the file is collected: a run that filters every test of this
  // file out (vitest -t) runs neither hook, so nothing is left behind.
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pw-runs-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('uses RUNS_DIR when set, else tmpfs at /dev/shm, else WORK_DIR/runs', async () => {
    expect(await resolveRunsRoot({ RUNS_DIR: join(root, 'x'), WORK_DIR: root })).toBe(join(root, 'x'));
    const shmIsTmpfs = await statfs('/dev/shm')
      .then((s) => s.type === 0x01021994)
      .catch(() => false);
    const chosen = await resolveRunsRoot({ WORK_DIR: root });
    // On Linux hosts (this project's CI included) /dev/shm is a tmpfs: the default is memory.
    expect(chosen).toBe(shmIsTmpfs ? '/dev/shm/pullwright-runs' : join(root, 'runs'));
  });

  it('creates a private folder and accepts it again', async () => {
    const dir = join(root, 'private', 'runs');
    await ensurePrivateDir(dir);
    await ensurePrivateDir(dir);
  });

  it('refuses a symlink planted where the folder should be', async () => {
    const target = join(root, 'elsewhere');
    mkdirSync(target, { mode: 0o700 });
    const link = join(root, 'squatted');
    symlinkSync(target, link);
    await expect(ensurePrivateDir(link)).rejects.toMatchObject({ code: 'config_invalid' });
  });

  it('refuses a folder others can write to, and a file in its place', async () => {
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await expect(ensurePrivateDir(open)).rejects.toMatchObject({ code: 'config_invalid' });
    const file = join(root, 'file');
    writeFileSync(file, 'x');
    await expect(ensurePrivateDir(file)).rejects.toThrow();
  });

  it.runIf(process.getuid?.() === 0)('refuses a folder another user created first', async () => {
    const theirs = join(root, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 1234, 1234);
    await expect(ensurePrivateDir(theirs)).rejects.toMatchObject({ code: 'config_invalid' });
  });
});
