import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PullwrightError } from '../../src/errors.js';
import { gitText, runGit } from '../workspace/git.js';

/**
 * The patches an evaluation runs, built in the host's bare cache with a private index (no work
 * tree, nothing any sandbox touched): the agent's change with the fix's test files laid over it,
 * the fix itself (gold), and the test files alone (the baseline, which must fail).
 */

const ZERO = '0'.repeat(40);

async function withIndex<T>(fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-eval-index-'));
  try {
    return await fn({ GIT_INDEX_FILE: join(dir, 'index') });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The fix's version of `testPaths` (deleted where the fix deleted them) over `agentPatch`, as one patch from `parentSha`. */
export async function combineWithTests(input: {
  gitDir: string;
  parentSha: string;
  fixSha: string;
  agentPatch: string;
  testPaths: string[];
}): Promise<string> {
  const { gitDir } = input;
  return withIndex(async (env) => {
    const git = (args: string[], stdin?: string) =>
      runGit(['--git-dir', gitDir, ...args], { env, input: stdin });
    await git(['read-tree', input.parentSha]);
    if (input.agentPatch.trim() !== '') {
      await git(['apply', '--cached', '--binary', '--whitespace=nowarn', '-'], input.agentPatch).catch(
        (err) => {
          throw new PullwrightError('patch_rejected', "The agent's patch does not apply to its base.", {
            cause: err,
            retryable: false,
          });
        },
      );
    }
    // Each test file exactly as the fix left it: the agent's edits to those files do not count.
    const listed = await gitText([
      '--git-dir',
      gitDir,
      'ls-tree',
      '-r',
      '-z',
      input.fixSha,
      '--',
      ...input.testPaths,
    ]);
    const present = new Map<string, string>();
    for (const entry of listed.split('\x00').filter(Boolean)) {
      const tab = entry.indexOf('\t');
      const [mode, , sha] = entry.slice(0, tab).split(' ');
      present.set(entry.slice(tab + 1), `${mode} ${sha}`);
    }
    const info = input.testPaths
      .map((p) => (present.has(p) ? `${present.get(p)}\t${p}` : `0 ${ZERO}\t${p}`))
      .join('\n');
    await git(['update-index', '--index-info'], `${info}\n`);
    const tree = await gitText(['--git-dir', gitDir, 'write-tree'], { env });
    return (await git(['diff', '--binary', '--no-renames', input.parentSha, tree])).stdout.toString('utf8');
  });
}

/** `git diff parent fix` (optionally limited to some paths), binary-safe. */
export async function diffCommits(
  gitDir: string,
  parentSha: string,
  fixSha: string,
  paths?: string[],
): Promise<string> {
  const args = ['--git-dir', gitDir, 'diff', '--binary', '--no-renames', parentSha, fixSha];
  if (paths) args.push('--', ...paths);
  return (await runGit(args)).stdout.toString('utf8');
}
