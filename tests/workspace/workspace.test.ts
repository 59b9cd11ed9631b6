import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitChange,
  createCleanCheckout,
  listCommits,
  pushBranch,
} from '../../worker/delivery/git-delivery.js';
import { applyPatch, extractPatch } from '../../worker/workspace/patch.js';
import {
  defaultBranch,
  ensureRepoCache,
  type RepoCache,
  resolveRef,
} from '../../worker/workspace/repo-cache.js';
import { createWorkingCopy } from '../../worker/workspace/working-copy.js';
import { git, makeOriginRepo, makeTmp } from './fixtures.js';
import { type GitHttpServer, startGitHttpServer } from './git-http-server.js';

const TOKEN = `ghs_${'T0kenValue'.repeat(4)}`;
const TOKEN_B64 = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
const BOT = { name: 'pullwright[bot]', email: '1+pullwright[bot]@users.noreply.github.com' };

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...allFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

function expectNoToken(dir: string): void {
  for (const file of allFiles(dir)) {
    const text = readFileSync(file).toString('latin1');
    expect(text.includes(TOKEN), file).toBe(false);
    expect(text.includes(TOKEN_B64), file).toBe(false);
  }
}

describe('workspace: cache, working copy, patch and delivery (real git over HTTP)', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let server: GitHttpServer;
  let remoteUrl: string;
  let scratch: string;
  let bare: string;
  let cache: RepoCache;
  let n = 0;
  const next = (name: string) => join(root, 'jobs', `${name}-${++n}`);

  beforeAll(async () => {
    ({ dir: root, cleanup } = await makeTmp('pw-ws-test-'));
    const origin = makeOriginRepo(join(root, 'remote'), 'acme', 'widgets');
    scratch = origin.scratch;
    bare = origin.bare;
    server = await startGitHttpServer(join(root, 'remote'), TOKEN);
    remoteUrl = `${server.url}/acme/widgets.git`;
    cache = await ensureRepoCache({ remoteUrl, token: TOKEN, cacheDir: join(root, 'cache') });
  });

  afterAll(async () => {
    await server?.close();
    await cleanup?.();
  });

  it('clones into a per-repository cache with the token only in request headers', async () => {
    expect(cache.dir).toBe(
      join(root, 'cache', `127.0.0.1:${new URL(server.url).port}`, 'acme', 'widgets.git'),
    );
    expect(server.authorizations).toContain(`Basic ${TOKEN_B64}`);
    expect(await defaultBranch(cache)).toBe('main');
    expect(await resolveRef(cache, 'main')).toBe(git(scratch, ['rev-parse', 'main']));
    expectNoToken(cache.dir);
    expect(readFileSync(join(cache.dir, 'config'), 'utf8')).not.toMatch(/extraheader|x-access-token/i);
  });

  it('refuses a wrong token and a remote URL carrying credentials', async () => {
    await expect(
      ensureRepoCache({ remoteUrl, token: 'ghs_wrong', cacheDir: join(root, 'cache-wrong') }),
    ).rejects.toMatchObject({ code: 'git_failed' });
    const withCreds = remoteUrl.replace('http://', `http://x-access-token:${TOKEN}@`);
    await expect(ensureRepoCache({ remoteUrl: withCreds, cacheDir: join(root, 'c2') })).rejects.toMatchObject(
      {
        code: 'input_invalid',
      },
    );
  });

  it('fetches only new objects on the second job', async () => {
    const before = git(cache.dir, ['count-objects', '-v']);
    const loose = (text: string) => Number(/^count: (\d+)$/m.exec(text)?.[1]);
    await writeFile(join(scratch, 'new.txt'), 'fresh\n');
    git(scratch, ['add', 'new.txt']);
    git(scratch, ['commit', '--quiet', '-m', 'third']);
    git(scratch, ['push', '--quiet', bare, 'main']);
    await ensureRepoCache({ remoteUrl, token: TOKEN, cacheDir: join(root, 'cache') });
    // A commit, its tree and one blob arrive as loose objects; the old pack is untouched.
    const after = git(cache.dir, ['count-objects', '-v']);
    expect(loose(after)).toBe(loose(before) + 3);
    expect(after.match(/^packs: \d+$/m)?.[0]).toBe(before.match(/^packs: \d+$/m)?.[0]);
    expect(await resolveRef(cache, 'main')).toBe(git(scratch, ['rev-parse', 'main']));
  });

  it('makes a credential-free working copy owned by uid 1000 with copied (not hardlinked) objects', async () => {
    const dir = next('copy');
    const copy = await createWorkingCopy({ cache, ref: 'main', dir });
    expect(copy.baseSha).toBe(git(scratch, ['rev-parse', 'main']));
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe('hello\nworld\nmore\n');
    expectNoToken(dir);
    // Read as a file: the host's git rightly refuses a repository owned by uid 1000.
    expect(readFileSync(join(dir, '.git', 'config'), 'utf8')).toContain(`url = ${remoteUrl}\n`);
    for (const file of allFiles(join(dir, '.git', 'objects'))) expect(statSync(file).nlink, file).toBe(1);
    expect(statSync(join(dir, 'README.md')).uid).toBe(1000);
    expect(statSync(join(dir, '.git', 'HEAD')).uid).toBe(1000);
  });

  it('fills an existing empty folder (already mounted by a sandbox) and refuses a non-empty one', async () => {
    const dir = next('premade');
    await mkdir(dir, { recursive: true });
    await chown(dir, 1000, 1000);
    const copy = await createWorkingCopy({ cache, ref: 'main', dir });
    expect(await readFile(join(copy.dir, 'README.md'), 'utf8')).toBe('hello\nworld\nmore\n');
    await expect(createWorkingCopy({ cache, ref: 'main', dir })).rejects.toMatchObject({
      code: 'input_invalid',
    });
  });

  it('checks out an existing branch and a pull request head', async () => {
    const feature = await createWorkingCopy({
      cache,
      ref: 'feature',
      dir: next('feature'),
      branch: 'feature',
    });
    expect(feature.baseSha).toBe(git(scratch, ['rev-parse', 'feature']));
    expect(readFileSync(join(feature.dir, '.git', 'HEAD'), 'utf8')).toBe('ref: refs/heads/feature\n');
    git(scratch, ['checkout', '--quiet', '-b', 'pr-work', 'feature']);
    await writeFile(join(scratch, 'pr.txt'), 'from a PR\n');
    git(scratch, ['add', 'pr.txt']);
    git(scratch, ['commit', '--quiet', '-m', 'pr commit']);
    const prSha = git(scratch, ['rev-parse', 'HEAD']);
    git(scratch, ['push', '--quiet', bare, `${prSha}:refs/pull/7/head`]);
    git(scratch, ['checkout', '--quiet', 'main']);
    await ensureRepoCache({
      remoteUrl,
      token: TOKEN,
      cacheDir: join(root, 'cache'),
      refs: ['refs/pull/7/head'],
    });
    const pr = await createWorkingCopy({ cache, ref: 'refs/pull/7/head', dir: next('pr') });
    expect(pr.baseSha).toBe(prSha);
    expect(await readFile(join(pr.dir, 'pr.txt'), 'utf8')).toBe('from a PR\n');
  });

  it('extracts edits, additions, binaries, renames, deletions and mode changes, and applies them to a clean checkout', async () => {
    const copy = await createWorkingCopy({ cache, ref: 'main', dir: next('edit') });
    const w = copy.dir;
    await writeFile(join(w, 'README.md'), 'hello\nthere\nmore\n');
    await mkdir(join(w, 'docs'));
    await writeFile(join(w, 'docs', 'guide.md'), '# Guide\n');
    const binary = Buffer.from([0, 1, 2, 3, 255, 0, 128, 7, 10, 13]);
    await writeFile(join(w, 'image.bin'), binary);
    await rename(join(w, 'src', 'rename-me.txt'), join(w, 'src', 'renamed.txt'));
    await rm(join(w, 'delete-me.txt'));
    await chmod(join(w, 'run.sh'), 0o755);
    const extracted = await extractPatch({ workDir: w, baseSha: copy.baseSha, cache });
    expect(extracted.paths.sort()).toEqual(
      [
        'README.md',
        'delete-me.txt',
        'docs/guide.md',
        'image.bin',
        'run.sh',
        'src/rename-me.txt',
        'src/renamed.txt',
      ].sort(),
    );
    expect(extracted.patch).toContain('rename from src/rename-me.txt');
    expect(extracted.patch).toContain('GIT binary patch');
    expect(extracted.patch).toContain('new mode 100755');
    expect(extracted.patch).toContain('deleted file mode 100644');
    expect(extracted.stats).toMatchObject({ files: 6, additions: 2, deletions: 2 });
    expect(extracted.stats.bytes).toBe(Buffer.byteLength(extracted.patch));

    const clean = await createCleanCheckout({ cache, ref: copy.baseSha, dir: next('clean') });
    await applyPatch({ cleanDir: clean.dir, patch: extracted.patch });
    const sha = await commitChange({
      dir: clean.dir,
      message: 'Update the readme',
      author: BOT,
      coAuthors: [{ name: 'Alice', email: 'alice@example.com' }],
    });
    expect(await readFile(join(clean.dir, 'image.bin'))).toEqual(binary);
    expect(statSync(join(clean.dir, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(git(clean.dir, ['ls-files', 'delete-me.txt'])).toBe('');
    const body = git(clean.dir, ['log', '-1', '--format=%an <%ae>|%cn|%B']);
    expect(body).toContain(`${BOT.name} <${BOT.email}>|${BOT.name}|Update the readme`);
    expect(body).toContain('Co-authored-by: Alice <alice@example.com>');
    // The committed tree is exactly the agent's tree, read as data.
    const redo = await extractPatch({
      workDir: w,
      baseSha: sha,
      cache: { ...cache, dir: join(clean.dir, '.git') },
    });
    expect(redo.patch).toBe('');
  });

  it('pushes a branch with the token in env only, and reports a non-fast-forward as a conflict', async () => {
    const base = await resolveRef(cache, 'main');
    const clean = await createCleanCheckout({ cache, ref: base, dir: next('push') });
    await writeFile(join(clean.dir, 'pushed.txt'), 'one\n');
    git(clean.dir, ['add', 'pushed.txt']);
    const first = await commitChange({ dir: clean.dir, message: 'first', author: BOT });
    const seen = server.authorizations.length;
    await pushBranch({ dir: clean.dir, remoteUrl, token: TOKEN, branch: 'pullwright/issue-1' });
    expect(git(bare, ['rev-parse', 'refs/heads/pullwright/issue-1'])).toBe(first);
    expect(server.authorizations.slice(seen).every((a) => a === `Basic ${TOKEN_B64}`)).toBe(true);
    expectNoToken(clean.dir);

    // Someone else pushes to the branch; our diverging commit must not overwrite theirs.
    const other = await createCleanCheckout({ cache, ref: base, dir: next('other') });
    await writeFile(join(other.dir, 'theirs.txt'), 'theirs\n');
    git(other.dir, ['add', 'theirs.txt']);
    const theirs = await commitChange({ dir: other.dir, message: 'theirs', author: BOT });
    await expect(
      pushBranch({ dir: other.dir, remoteUrl, token: TOKEN, branch: 'pullwright/issue-1' }),
    ).rejects.toMatchObject({ code: 'conflict' });
    expect(git(bare, ['rev-parse', 'refs/heads/pullwright/issue-1'])).toBe(first);
    // A lease on a stale sha is refused too; on the current sha it replaces the branch.
    await expect(
      pushBranch({
        dir: other.dir,
        remoteUrl,
        token: TOKEN,
        branch: 'pullwright/issue-1',
        expectedSha: base,
      }),
    ).rejects.toMatchObject({ code: 'conflict' });
    await pushBranch({
      dir: other.dir,
      remoteUrl,
      token: TOKEN,
      branch: 'pullwright/issue-1',
      expectedSha: first,
    });
    expect(git(bare, ['rev-parse', 'refs/heads/pullwright/issue-1'])).toBe(theirs);
    await ensureRepoCache({ remoteUrl, token: TOKEN, cacheDir: join(root, 'cache') });
    const commits = await listCommits({ cache, sinceSha: base, branchSha: theirs });
    expect(commits).toEqual([{ sha: theirs, authorName: BOT.name, authorEmail: BOT.email }]);
  });

  describe('attacks from the agent-writable workspace', () => {
    let marker: string;
    let secretFile: string;
    const SECRET = 'TOP-SECRET-HOST-CONTENT-4242';

    beforeAll(async () => {
      marker = join(root, 'PWNED');
      await mkdir(join(root, 'host-secrets'), { recursive: true });
      secretFile = join(root, 'host-secrets', 'secret.txt');
      await writeFile(secretFile, `${SECRET}\n`);
    });

    const payload = () => `#!/bin/sh\necho pwned >> ${marker}\n`;

    async function deliverFrom(w: string, baseSha: string): Promise<string> {
      const extracted = await extractPatch({ workDir: w, baseSha, cache });
      const clean = await createCleanCheckout({ cache, ref: baseSha, dir: next('deliver') });
      if (extracted.patch !== '') {
        await applyPatch({ cleanDir: clean.dir, patch: extracted.patch });
        await commitChange({ dir: clean.dir, message: 'agent change', author: BOT });
        await pushBranch({ dir: clean.dir, remoteUrl, token: TOKEN, branch: `attack-${n}`, force: true });
      }
      return extracted.patch;
    }

    it('never runs hooks the agent planted in .git/hooks', async () => {
      const copy = await createWorkingCopy({ cache, ref: 'main', dir: next('hooks') });
      for (const hook of [
        'post-checkout',
        'pre-commit',
        'post-commit',
        'commit-msg',
        'prepare-commit-msg',
        'pre-push',
        'post-index-change',
        'reference-transaction',
        'pre-auto-gc',
        'fsmonitor-watchman',
      ]) {
        await writeFile(join(copy.dir, '.git', 'hooks', hook), payload(), { mode: 0o755 });
      }
      await writeFile(join(copy.dir, 'README.md'), 'changed by the agent\n');
      const patch = await deliverFrom(copy.dir, copy.baseSha);
      expect(patch).toContain('changed by the agent');
      expect(() => statSync(marker)).toThrow();
    });

    it('ignores core.fsmonitor, core.sshCommand, core.pager, aliases and hooksPath in the workspace config', async () => {
      const copy = await createWorkingCopy({ cache, ref: 'main', dir: next('config') });
      await writeFile(join(copy.dir, 'evil.sh'), payload(), { mode: 0o755 });
      const evil = join(copy.dir, 'evil.sh');
      await writeFile(
        join(copy.dir, '.git', 'config'),
        [
          '[core]',
          `\tfsmonitor = ${evil}`,
          `\tsshCommand = ${evil}`,
          `\tpager = ${evil}`,
          `\thooksPath = ${join(copy.dir, '.git', 'hooks')}`,
          `\teditor = ${evil}`,
          '[alias]',
          `\tdiff = !${evil}`,
          `\tadd = !${evil}`,
          '[diff]',
          `\texternal = ${evil}`,
          '[include]',
          `\tpath = ${secretFile}`,
          '',
        ].join('\n'),
      );
      const patch = await deliverFrom(copy.dir, copy.baseSha);
      expect(patch).toContain('evil.sh');
      expect(() => statSync(marker)).toThrow();
      expect(patch).not.toContain(SECRET);
    });

    it('stores a symlink out of the workspace as a link, never reading its target', async () => {
      const copy = await createWorkingCopy({ cache, ref: 'main', dir: next('symlink') });
      await symlink(secretFile, join(copy.dir, 'leak.txt'));
      await symlink(join(root, 'host-secrets'), join(copy.dir, 'leak-dir'));
      // Replace a tracked file by a symlink to the secret, too.
      await rm(join(copy.dir, 'delete-me.txt'));
      await symlink(secretFile, join(copy.dir, 'delete-me.txt'));
      const patch = await deliverFrom(copy.dir, copy.baseSha);
      expect(patch).toContain('new file mode 120000');
      expect(patch).not.toContain(SECRET);
      expect(patch).not.toContain('secret.txt\n+'); // nothing from inside the linked folder
    });

    it('does not run a filter driver named by .gitattributes and defined in the workspace config', async () => {
      const copy = await createWorkingCopy({ cache, ref: 'main', dir: next('filter') });
      await writeFile(join(copy.dir, '.gitattributes'), '* filter=evil diff=evil\n');
      await writeFile(join(copy.dir, 'evil.sh'), payload(), { mode: 0o755 });
      const evil = join(copy.dir, 'evil.sh');
      await writeFile(
        join(copy.dir, '.git', 'config'),
        `[filter "evil"]\n\tclean = ${evil}\n\tsmudge = ${evil}\n\trequired = true\n[diff "evil"]\n\ttextconv = ${evil}\n\tcommand = ${evil}\n`,
      );
      await writeFile(join(copy.dir, 'README.md'), 'filtered?\n');
      const patch = await deliverFrom(copy.dir, copy.baseSha);
      expect(patch).toContain('+filtered?');
      expect(() => statSync(marker)).toThrow();
    });

    it('leaves out a nested repository whose .git points at a host folder', async () => {
      const copy = await createWorkingCopy({ cache, ref: 'main', dir: next('nested') });
      await mkdir(join(copy.dir, 'vendor', 'lib'), { recursive: true });
      await writeFile(join(copy.dir, 'vendor', 'lib', '.git'), `gitdir: ${bare}\n`);
      await writeFile(join(copy.dir, 'vendor', 'lib', 'x.txt'), 'x\n');
      await writeFile(join(copy.dir, 'kept.txt'), 'kept\n');
      const extracted = await extractPatch({ workDir: copy.dir, baseSha: copy.baseSha, cache });
      expect(extracted.skipped).toEqual(['vendor/lib']);
      expect(extracted.paths).toEqual(['kept.txt']);
    });

    it('rejects a patch that touches .git paths', async () => {
      const clean = await createCleanCheckout({ cache, ref: 'main', dir: next('gitpath') });
      const forged = [
        'diff --git a/.git/hooks/post-commit b/.git/hooks/post-commit',
        'new file mode 100755',
        'index 0000000..1111111',
        '--- /dev/null',
        '+++ b/.git/hooks/post-commit',
        '@@ -0,0 +1,2 @@',
        '+#!/bin/sh',
        `+touch ${marker}`,
        '',
      ].join('\n');
      await expect(applyPatch({ cleanDir: clean.dir, patch: forged })).rejects.toMatchObject({
        code: 'patch_rejected',
      });
      const nested = forged.replaceAll('.git/hooks/post-commit', 'src/.GIT/config');
      await expect(applyPatch({ cleanDir: clean.dir, patch: nested })).rejects.toMatchObject({
        code: 'patch_rejected',
      });
      expect(() => statSync(marker)).toThrow();
      expect(execFileSync('git', ['-C', clean.dir, 'status', '--porcelain'], { encoding: 'utf8' })).toBe('');
    });
  });
});
