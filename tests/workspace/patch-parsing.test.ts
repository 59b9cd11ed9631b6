import { describe, expect, it } from 'vitest';
import { withCoAuthors } from '../../worker/delivery/git-delivery.js';
import { gitAuthEnv } from '../../worker/workspace/git.js';
import { isGitInternalPath, parseNumstat } from '../../worker/workspace/patch.js';

describe('parseNumstat', () => {
  it('counts text, binary and renamed files', () => {
    const raw = [
      '3\t1\tsrc/a.ts',
      '-\t-\timage.png',
      '0\t0\t',
      'old/name.txt',
      'new/name.txt',
      '2\t0\twith\ttab.txt',
      '',
    ].join('\0');
    const { paths, stats } = parseNumstat(raw);
    expect(paths).toEqual(['src/a.ts', 'image.png', 'old/name.txt', 'new/name.txt', 'with\ttab.txt']);
    expect(stats).toEqual({ files: 4, additions: 5, deletions: 1, bytes: 0 });
  });
});

describe('isGitInternalPath', () => {
  it('catches .git in any segment and its look-alikes', () => {
    for (const p of ['.git/config', 'a/.git/hooks/x', '.GIT/config', 'sub/.git./x', 'GIT~1/config', '.git'])
      expect(isGitInternalPath(p), p).toBe(true);
    for (const p of ['.github/workflows/ci.yml', '.gitignore', 'src/git/x.ts', 'a/.gitattributes'])
      expect(isGitInternalPath(p), p).toBe(false);
  });
});

describe('withCoAuthors', () => {
  it('adds each trailer once, after a blank line', () => {
    const alice = { name: 'Alice', email: 'alice@example.com' };
    expect(withCoAuthors('Fix it\n\nBody.', [alice, alice])).toBe(
      'Fix it\n\nBody.\n\nCo-authored-by: Alice <alice@example.com>\n',
    );
    expect(withCoAuthors('Fix it\n\nCo-authored-by: Alice <alice@example.com>', [alice])).toBe(
      'Fix it\n\nCo-authored-by: Alice <alice@example.com>\n',
    );
    expect(withCoAuthors('Fix it', [])).toBe('Fix it\n');
  });
});

describe('gitAuthEnv', () => {
  it('passes the token as a one-command http.extraHeader, never as a URL or file', () => {
    const env = gitAuthEnv('ghs_abc');
    expect(env).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('x-access-token:ghs_abc').toString('base64')}`,
    });
    expect(gitAuthEnv(undefined)).toEqual({});
  });
});
