import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashLockfiles } from '../../worker/environment/lockfile-hash.js';
import { SecretScanner, secretForms } from '../../worker/environment/snapshot-archive.js';
import { makeTmp } from '../workspace/fixtures.js';

describe('hashLockfiles', () => {
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  beforeEach(async () => {
    tmp = await makeTmp('pw-lockhash-');
    await mkdir(join(tmp.dir, 'packages', 'a'), { recursive: true });
    await mkdir(join(tmp.dir, 'node_modules', 'x'), { recursive: true });
    await writeFile(join(tmp.dir, 'package-lock.json'), '{"v":1}');
    await writeFile(join(tmp.dir, 'packages', 'a', 'requirements-dev.txt'), 'pytest\n');
    await writeFile(join(tmp.dir, 'node_modules', 'x', 'package-lock.json'), 'ignored');
    await writeFile(join(tmp.dir, 'src.js'), 'code');
  });
  afterEach(() => tmp.cleanup());

  it('hashes the default lockfiles at any depth, not installed folders or source', async () => {
    const first = await hashLockfiles(tmp.dir, []);
    expect(first.files).toEqual(['package-lock.json', 'packages/a/requirements-dev.txt']);
    await writeFile(join(tmp.dir, 'src.js'), 'other code');
    await writeFile(join(tmp.dir, 'node_modules', 'x', 'package-lock.json'), 'changed');
    expect((await hashLockfiles(tmp.dir, [])).hash).toBe(first.hash);
    await writeFile(join(tmp.dir, 'package-lock.json'), '{"v":2}');
    expect((await hashLockfiles(tmp.dir, [])).hash).not.toBe(first.hash);
  });

  it('uses the repository globs instead when given, and never follows a symlink', async () => {
    const custom = await hashLockfiles(tmp.dir, ['src.js']);
    expect(custom.files).toEqual(['src.js']);
    await symlink('/etc/hostname', join(tmp.dir, 'yarn.lock'));
    const linked = await hashLockfiles(tmp.dir, []);
    expect(linked.files).toContain('yarn.lock');
  });
});

describe('SecretScanner', () => {
  it('finds a value split across chunks, and its base64 and URL-encoded forms', async () => {
    const secret = 'tok/en+value=123';
    for (const payload of [
      `aaaa${secret}bbbb`,
      `x${Buffer.from(secret).toString('base64')}y`,
      `x${encodeURIComponent(secret)}y`,
    ]) {
      const scanner = new SecretScanner([secret]);
      const bytes = Buffer.from(payload);
      for (let i = 0; i < bytes.length; i += 3) scanner.write(bytes.subarray(i, i + 3));
      scanner.end();
      scanner.resume();
      await new Promise((r) => scanner.on('end', r));
      expect(scanner.found, payload).toBe(true);
    }
    const clean = new SecretScanner([secret]);
    clean.end(Buffer.from('nothing here'));
    clean.resume();
    await new Promise((r) => clean.on('end', r));
    expect(clean.found).toBe(false);
    expect(secretForms([secret])).toHaveLength(3);
  });
});
