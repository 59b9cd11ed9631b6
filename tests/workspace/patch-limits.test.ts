import { link, mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PullwrightError } from '../../src/errors.js';
import { extractPatch } from '../../worker/workspace/patch.js';
import type { RepoCache } from '../../worker/workspace/repo-cache.js';
import { runLimitedGit } from '../../worker/workspace/run-limited-git.js';
import { git, makeTmp } from './fixtures.js';

/**
 * Issue 14 item 5: reading the agent's tree must not exhaust the host. Each attack
 * here made the old extractPatch buffer a patch far over the cap, or hash a
 * terabyte, before anything compared a size with the limit.
 */

let root: string;
let cleanup: () => Promise<void>;
let n = 0;

beforeAll(async () => {
  ({ dir: root, cleanup } = await makeTmp('pw-patch-limits-'));
});
afterAll(() => cleanup());

/** A repository whose own `.git` serves as the cache; the agent's tree is its work tree. */
async function workspace(): Promise<{ dir: string; baseSha: string; cache: RepoCache }> {
  const dir = join(root, `ws-${++n}`);
  await mkdir(dir);
  git(dir, ['init', '--quiet']);
  await writeFile(join(dir, 'README.md'), 'hello\n');
  git(dir, ['add', '-A']);
  git(dir, ['commit', '--quiet', '-m', 'base']);
  return { dir, baseSha: git(dir, ['rev-parse', 'HEAD']), cache: { dir: join(dir, '.git'), remoteUrl: '' } };
}

async function rejection(promise: Promise<unknown>): Promise<PullwrightError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PullwrightError);
  return err as PullwrightError;
}

const kinds = (err: PullwrightError) =>
  ((err.details as { findings?: { kind: string }[] }).findings ?? []).map((f) => f.kind);

describe('extractPatch bounds (issue 14 item 5)', () => {
  it('refuses hard links before git reads them (du counts the data once, git once per name)', async () => {
    const ws = await workspace();
    await writeFile(join(ws.dir, 'data.txt'), `${'payload line\n'.repeat(4_000)}`);
    for (let i = 0; i < 20; i++) await link(join(ws.dir, 'data.txt'), join(ws.dir, `copy-${i}.txt`));
    const err = await rejection(extractPatch({ ...ws, workDir: ws.dir }));
    expect(err.code).toBe('patch_rejected');
    expect(err.retryable).toBe(false);
    expect(kinds(err)).toEqual(['hard-link']);
    expect(err.message).toContain('hard-linked');
  });

  it('refuses a tracked file given a second name through a hard link', async () => {
    const ws = await workspace();
    await link(join(ws.dir, 'README.md'), join(ws.dir, 'again.md'));
    const err = await rejection(extractPatch({ ...ws, workDir: ws.dir }));
    expect(kinds(err)).toEqual(['hard-link']);
  });

  it('refuses a sparse terabyte file at once, by its apparent size, without git hashing it', async () => {
    const ws = await workspace();
    await writeFile(join(ws.dir, 'huge.bin'), '');
    await truncate(join(ws.dir, 'huge.bin'), 1024 ** 4);
    const started = Date.now();
    const err = await rejection(extractPatch({ ...ws, workDir: ws.dir }));
    expect(kinds(err)).toEqual(['too-large']);
    expect(err.message).toContain('huge.bin');
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);

  it('refuses a file just over the cap even when it compresses to nothing', async () => {
    const ws = await workspace();
    await writeFile(join(ws.dir, 'zeros.bin'), '');
    await truncate(join(ws.dir, 'zeros.bin'), 64 * 1024 + 1);
    const err = await rejection(extractPatch({ ...ws, workDir: ws.dir, maxBytes: 64 * 1024 }));
    expect(kinds(err)).toEqual(['too-large']);
  });

  it('stops git once the patch passes the cap while it streams (many files, each under it)', async () => {
    const ws = await workspace();
    for (let i = 0; i < 12; i++) {
      const lines = Array.from({ length: 400 }, (_, j) => `file ${i} line ${j} ${'z'.repeat(30)}`);
      await writeFile(join(ws.dir, `part-${i}.txt`), `${lines.join('\n')}\n`);
    }
    const err = await rejection(extractPatch({ ...ws, workDir: ws.dir, maxBytes: 64 * 1024 }));
    expect(err.code).toBe('patch_rejected');
    expect(kinds(err)).toEqual(['too-large']);
    expect(err.message).toContain('65536-byte limit');
    // The same change under a larger cap is extracted whole.
    const ok = await extractPatch({ ...ws, workDir: ws.dir, maxBytes: 1024 ** 2 });
    expect(ok.stats.files).toBe(12);
    expect(ok.stats.bytes).toBeGreaterThan(64 * 1024);
  });

  it('still ignores what .gitignore leaves out (build output may hold hard links or big files)', async () => {
    const ws = await workspace();
    await writeFile(join(ws.dir, '.gitignore'), 'node_modules/\n');
    await mkdir(join(ws.dir, 'node_modules'));
    await writeFile(join(ws.dir, 'node_modules', 'a.js'), 'x\n');
    await link(join(ws.dir, 'node_modules', 'a.js'), join(ws.dir, 'node_modules', 'b.js'));
    await writeFile(join(ws.dir, 'node_modules', 'big.bin'), '');
    await truncate(join(ws.dir, 'node_modules', 'big.bin'), 1024 ** 3);
    const extracted = await extractPatch({ ...ws, workDir: ws.dir });
    expect(extracted.paths).toEqual(['.gitignore']);
  });
});

describe('runLimitedGit', () => {
  const base = { maxStdoutBytes: 1024 ** 2, timeoutMs: 60_000, cpuSeconds: 60, memoryBytes: 2 * 1024 ** 3 };

  it('kills git when its output passes the cap', async () => {
    const err = await rejection(runLimitedGit(['--version'], { ...base, cwd: root, maxStdoutBytes: 4 }));
    expect(err.code).toBe('git_failed');
    expect(err.details).toMatchObject({ limit: 'output' });
  });

  it('kills git that runs past its time limit (hashing a sparse terabyte)', async () => {
    const file = join(root, 'tera.bin');
    await writeFile(file, '');
    await truncate(file, 1024 ** 4);
    const started = Date.now();
    const err = await rejection(
      runLimitedGit(['hash-object', '--no-filters', file], { ...base, cwd: root, timeoutMs: 500 }),
    );
    expect(err.details).toMatchObject({ limit: 'time' });
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 60_000);

  it('runs git under a memory limit: a file git maps whole fails under it and hashes above it', async () => {
    const file = join(root, 'mid.bin');
    await writeFile(file, '');
    await truncate(file, 200 * 1024 ** 2);
    const args = ['hash-object', '--no-filters', file];
    const err = await rejection(runLimitedGit(args, { ...base, cwd: root, memoryBytes: 96 * 1024 ** 2 }));
    expect(err.code).toBe('git_failed');
    const ok = await runLimitedGit(args, { ...base, cwd: root });
    expect(ok.stdout.toString().trim()).toMatch(/^[0-9a-f]{40}$/);
  }, 60_000);
});

describe('extractPatch and big files the repository already had', () => {
  it('passes a tracked file over the cap at its base size, and refuses it once it grows', async () => {
    const ws = await workspace();
    await writeFile(join(ws.dir, 'asset.bin'), Buffer.alloc(100 * 1024, 7));
    git(ws.dir, ['add', '-A']);
    git(ws.dir, ['commit', '--quiet', '-m', 'asset']);
    const baseSha = git(ws.dir, ['rev-parse', 'HEAD']);
    await writeFile(join(ws.dir, 'README.md'), 'changed\n');
    const ok = await extractPatch({ ...ws, baseSha, workDir: ws.dir, maxBytes: 64 * 1024 });
    expect(ok.paths).toEqual(['README.md']);
    await truncate(join(ws.dir, 'asset.bin'), 1024 ** 4);
    const err = await rejection(extractPatch({ ...ws, baseSha, workDir: ws.dir, maxBytes: 64 * 1024 }));
    expect(kinds(err)).toEqual(['too-large']);
    expect(err.message).toContain('asset.bin');
  }, 60_000);
});
