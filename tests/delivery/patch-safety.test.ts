import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { globToRegExp, matchesAnyGlob } from '../../src/domain/path-glob.js';
import { PullwrightError } from '../../src/errors.js';
import {
  assertPatchSafe,
  findPatchProblems,
  MAX_PATCH_BYTES,
  pathsInPatch,
} from '../../worker/delivery/patch-safety.js';
import { realPatch, removePatchRepos } from './real-patch.js';

afterAll(removePatchRepos);

const options = { maxBytes: 1_000_000, protectedPaths: ['.github/workflows/**'] };

describe('path globs', () => {
  it('matches ** across segments, * within one, folders with a trailing slash', () => {
    expect(globToRegExp('.github/workflows/**').test('.github/workflows/ci.yml')).toBe(true);
    expect(globToRegExp('**/*.pem').test('a/b/key.pem')).toBe(true);
    expect(globToRegExp('**/*.pem').test('key.pem')).toBe(true);
    expect(globToRegExp('src/*.ts').test('src/a/b.ts')).toBe(false);
    expect(globToRegExp('secrets/').test('secrets/x/y')).toBe(true);
    expect(matchesAnyGlob('./.github/workflows/x.yml', ['docs/**', '.github/workflows/**'])).toBe(
      '.github/workflows/**',
    );
    expect(matchesAnyGlob('.github/workflowsx', ['.github/workflows/**'])).toBeNull();
  });
});

describe('patch safety', () => {
  it('accepts an ordinary change', () => {
    const patch = realPatch(
      (d) => writeFileSync(join(d, 'a.txt'), 'one\n'),
      (d) => writeFileSync(join(d, 'a.txt'), 'two\n'),
    );
    expect(findPatchProblems(patch, options)).toEqual([]);
    expect(() => assertPatchSafe(patch, options)).not.toThrow();
  });

  it('rejects an empty change', () => {
    expect(findPatchProblems('', options).map((f) => f.kind)).toEqual(['empty']);
  });

  it('rejects an oversized change', () => {
    const patch = realPatch(
      () => {},
      (d) => writeFileSync(join(d, 'big.txt'), 'x'.repeat(5000)),
    );
    expect(findPatchProblems(patch, { ...options, maxBytes: 1000 }).map((f) => f.kind)).toEqual([
      'too-large',
    ]);
  });

  it('has one default size cap, the same for the worker and the CLI (5 MiB)', () => {
    expect(MAX_PATCH_BYTES).toBe(5 * 1024 ** 2);
    const body = (n: number) => `diff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -0,0 +1 @@\n+${'x'.repeat(n)}\n`;
    const protectedPaths: string[] = [];
    expect(findPatchProblems(body(MAX_PATCH_BYTES), { protectedPaths }).map((f) => f.kind)).toEqual([
      'too-large',
    ]);
    expect(findPatchProblems(body(MAX_PATCH_BYTES - 1000), { protectedPaths })).toEqual([]);
  });

  it('sees protected paths in new files, renames into them, deletions and mode changes', () => {
    const added = realPatch(
      () => {},
      (d) => {
        mkdirSync(join(d, '.github/workflows'), { recursive: true });
        writeFileSync(join(d, '.github/workflows/ci.yml'), 'on: push\n');
      },
    );
    expect(findPatchProblems(added, options)).toEqual([
      expect.objectContaining({ kind: 'protected-path', path: '.github/workflows/ci.yml' }),
    ]);
    const renamed = realPatch(
      (d) => writeFileSync(join(d, 'build.yml'), 'on: push\njobs: {}\n'.repeat(20)),
      (d) => {
        mkdirSync(join(d, '.github/workflows'), { recursive: true });
        renameSync(join(d, 'build.yml'), join(d, '.github/workflows/build.yml'));
      },
    );
    expect(renamed).toContain('rename to');
    expect(findPatchProblems(renamed, options).map((f) => f.path)).toContain('.github/workflows/build.yml');
    const modeOnly = realPatch(
      (d) => {
        mkdirSync(join(d, '.github/workflows'), { recursive: true });
        writeFileSync(join(d, '.github/workflows/run.sh'), 'echo\n');
      },
      (d) => chmodSync(join(d, '.github/workflows/run.sh'), 0o755),
    );
    expect(modeOnly).toContain('new mode 100755');
    expect(findPatchProblems(modeOnly, options).map((f) => f.kind)).toEqual(['protected-path']);
    expect(findPatchProblems(modeOnly, { ...options, allowProtected: true })).toEqual([]);
  });

  it('finds paths in binary patches and quoted names', () => {
    const patch = realPatch(
      () => {},
      (d) => {
        mkdirSync(join(d, '.github/workflows'), { recursive: true });
        writeFileSync(join(d, '.github/workflows/blob.bin'), Buffer.from([0, 1, 2, 255, 0, 3]));
        writeFileSync(join(d, 'tab\there "q".txt'), 'x\n');
        writeFileSync(join(d, 'with space.txt'), 'x\n');
      },
    );
    expect(patch).toContain('GIT binary patch');
    expect(pathsInPatch(patch)).toEqual([
      '.github/workflows/blob.bin',
      'tab\there "q".txt',
      'with space.txt',
    ]);
  });

  it('does not mistake a removed line that looks like a header for a path', () => {
    const patch = realPatch(
      (d) => writeFileSync(join(d, 'notes.md'), '-- a/.github/workflows/x.yml\nkeep\n'),
      (d) => writeFileSync(join(d, 'notes.md'), 'keep\n'),
    );
    expect(patch).toContain('\n--- a/.github/workflows/x.yml');
    expect(pathsInPatch(patch)).toEqual(['notes.md']);
    expect(findPatchProblems(patch, options)).toEqual([]);
  });

  it('refuses added secrets of well-known formats without echoing them', () => {
    const token = `ghp_${'A1b2C3d4E5'.repeat(4)}`;
    const key = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEow', '-----END RSA PRIVATE KEY-----'].join('\n');
    const patch = realPatch(
      () => {},
      (d) => {
        writeFileSync(join(d, 'config.js'), `export const t = '${token}';\n`);
        writeFileSync(join(d, 'id_rsa'), `${key}\n`);
        writeFileSync(join(d, 'aws.txt'), 'AKIAABCDEFGHIJKLMNOP\n');
      },
    );
    const findings = findPatchProblems(patch, options);
    expect(findings.filter((f) => f.kind === 'secret').map((f) => f.path)).toEqual([
      'aws.txt',
      'config.js',
      'id_rsa',
    ]);
    let thrown: unknown;
    try {
      assertPatchSafe(patch, options);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PullwrightError);
    expect((thrown as PullwrightError).code).toBe('patch_rejected');
    expect((thrown as PullwrightError).retryable).toBe(false);
    expect((thrown as PullwrightError).message).not.toContain(token);
  });

  it('ignores secrets the change removes', () => {
    const token = `ghp_${'A1b2C3d4E5'.repeat(4)}`;
    const patch = realPatch(
      (d) => writeFileSync(join(d, 'config.js'), `const t = '${token}';\n`),
      (d) => writeFileSync(join(d, 'config.js'), 'const t = process.env.TOKEN;\n'),
    );
    expect(findPatchProblems(patch, options)).toEqual([]);
  });

  it('refuses changes to git internals', () => {
    const patch = [
      'diff --git a/.git/hooks/pre-commit b/.git/hooks/pre-commit',
      'new file mode 100755',
      '--- /dev/null',
      '+++ b/.git/hooks/pre-commit',
      '@@ -0,0 +1 @@',
      '+touch /tmp/pwned',
      '',
    ].join('\n');
    expect(findPatchProblems(patch, options).map((f) => f.kind)).toEqual(['git-internal']);
  });
});
