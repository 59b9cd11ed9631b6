import { randomBytes } from 'node:crypto';
import { renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findPatchProblems } from '../../worker/delivery/patch-safety.js';
import { realPatch, removePatchRepos } from './real-patch.js';

/**
 * Issue 14 item 7: the secret scan read only added text lines. A token in a file
 * with one NUL byte becomes a `GIT binary patch` (base85 of deflated bytes) and
 * passed; so did a token in a file's name.
 */

afterAll(removePatchRepos);

const TOKEN = `ghp_${'A1b2C3d4E5'.repeat(4)}`;
const options = { maxBytes: 1_000_000, protectedPaths: ['.github/**'] };

describe('secret scan of binary content and file names', () => {
  it('finds a token in a new binary file (one NUL byte)', () => {
    const patch = realPatch(
      () => {},
      (d) =>
        writeFileSync(join(d, 'blob.dat'), Buffer.concat([Buffer.from([0]), Buffer.from(`t=${TOKEN};`)])),
    );
    expect(patch).toContain('GIT binary patch');
    expect(patch).not.toContain(TOKEN);
    const findings = findPatchProblems(patch, options);
    expect(findings.map((f) => [f.kind, f.path])).toEqual([['secret', 'blob.dat']]);
    expect(findings[0]?.message).not.toContain(TOKEN);
  });

  it('finds a token added to an existing binary file (a delta hunk)', () => {
    const base = randomBytes(8_192);
    const patch = realPatch(
      (d) => writeFileSync(join(d, 'image.bin'), base),
      (d) => writeFileSync(join(d, 'image.bin'), Buffer.concat([base, Buffer.from(`\0key=${TOKEN}\0`)])),
    );
    expect(patch).toMatch(/^delta \d+$/m);
    expect(findPatchProblems(patch, options).map((f) => [f.kind, f.path])).toEqual([['secret', 'image.bin']]);
  });

  it('accepts binary changes without secrets, and a token the binary change removes', () => {
    const withToken = Buffer.concat([randomBytes(4_096), Buffer.from(TOKEN)]);
    const patch = realPatch(
      (d) => {
        writeFileSync(join(d, 'old.bin'), withToken);
      },
      (d) => {
        writeFileSync(join(d, 'old.bin'), withToken.subarray(0, 4_096));
        writeFileSync(join(d, 'new.bin'), randomBytes(2_048));
      },
    );
    expect(patch).toContain('GIT binary patch');
    expect(findPatchProblems(patch, options)).toEqual([]);
  });

  it('finds a token in the name of an added or renamed file, without repeating it', () => {
    const added = realPatch(
      () => {},
      (d) => writeFileSync(join(d, `${TOKEN}.txt`), 'harmless\n'),
    );
    const findings = findPatchProblems(added, options);
    expect(findings.map((f) => f.kind)).toEqual(['secret']);
    expect(findings[0]?.message).not.toContain(TOKEN);
    expect(findings[0]?.path).toBeUndefined();
    const renamed = realPatch(
      (d) => writeFileSync(join(d, 'notes.txt'), 'some text\n'.repeat(20)),
      (d) => renameSync(join(d, 'notes.txt'), join(d, `AKIAABCDEFGHIJKLMNOP`)),
    );
    expect(renamed).toContain('rename to AKIA');
    expect(findPatchProblems(renamed, options).map((f) => f.kind)).toEqual(['secret']);
  });

  it('does not refuse an edit to a file whose existing name only looks like a key', () => {
    const patch = realPatch(
      (d) => writeFileSync(join(d, 'AKIAABCDEFGHIJKLMNOP'), 'fixture\n'),
      (d) => writeFileSync(join(d, 'AKIAABCDEFGHIJKLMNOP'), 'fixture, edited\n'),
    );
    expect(findPatchProblems(patch, options)).toEqual([]);
  });

  it('refuses a binary file larger than the cap even when it deflates to almost nothing', () => {
    const patch = realPatch(
      () => {},
      (d) => {
        writeFileSync(join(d, 'zeros.bin'), '');
        truncateSync(join(d, 'zeros.bin'), 2_000_000);
      },
    );
    expect(Buffer.byteLength(patch)).toBeLessThan(options.maxBytes);
    expect(findPatchProblems(patch, options).map((f) => [f.kind, f.path])).toEqual([
      ['too-large', 'zeros.bin'],
    ]);
  });

  it('refuses a binary hunk that cannot be decoded (it cannot be checked)', () => {
    const patch = realPatch(
      () => {},
      (d) => writeFileSync(join(d, 'blob.dat'), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7])),
    );
    const broken = patch.replace(
      /^(literal \d+\n)(.)(.*)$/m,
      (_m, head: string, len: string, rest: string) => `${head}${len}${'~'.repeat(rest.length)}`,
    );
    expect(broken).not.toBe(patch);
    expect(findPatchProblems(broken, options).map((f) => [f.kind, f.path])).toEqual([
      ['unreadable', 'blob.dat'],
    ]);
  });

  it('still reads secrets in text files line by line', () => {
    const patch = realPatch(
      () => {},
      (d) => writeFileSync(join(d, 'config.js'), `export const t = '${TOKEN}';\n`),
    );
    expect(findPatchProblems(patch, options).map((f) => [f.kind, f.path])).toEqual([['secret', 'config.js']]);
  });
});
