import { PullwrightError } from '../../src/errors.js';
import { gitText, runGit } from '../workspace/git.js';

/**
 * Picks evaluation tasks from a repository's history: commits on the first-parent line (a merged
 * pull request is its merge commit) whose change touches both tests and code. Each becomes a task:
 * start from the parent, tell the agent what the commit message (or the issue it closed) says, and
 * judge the result with the commit's own test changes, which the agent never sees.
 */

export interface EvalTask {
  /** The fix commit (a merge commit for a merged pull request). */
  sha: string;
  /** Its first parent: where the agent starts. */
  parentSha: string;
  kind: 'commit' | 'merge';
  subject: string;
  /** What the agent is told: the commit message, or the issue text when one is known. */
  text: string;
  /** Where `text` came from. */
  source: 'commit-message' | 'issue' | 'pull-request';
  /** The pull request it merged ("Merge pull request #N", or a squash's "(#N)"), when it says so. */
  pullNumber?: number;
  /** `owner/repo#N` of the issue it closed, when known. */
  issue?: string;
  /** Test files the fix changed (withheld from the agent, applied to judge it). */
  testPaths: string[];
  /** The other files it changed (what the agent is expected to change). */
  codePaths: string[];
}

/** Test files by the common conventions of JS/TS, Python, Go, Rust, Ruby, Java and C#. */
export function isTestPath(path: string): boolean {
  const p = path.toLowerCase();
  const base = p.split('/').pop() ?? p;
  if (/(^|\/)(tests?|__tests__|spec|specs|testing|test_data|testdata|fixtures?)\//.test(p)) return true;
  return (
    /\.(test|spec)\.[a-z0-9]+$/.test(base) ||
    /^test_.+\.py$/.test(base) ||
    /_test\.(py|go|rb|rs|exs?)$/.test(base) ||
    /_spec\.rb$/.test(base) ||
    /tests?\.(java|kt|cs|scala)$/.test(base)
  );
}

/** Files that are neither code nor tests: a change to docs alone is no evidence of a fix. */
export function isDocPath(path: string): boolean {
  const p = path.toLowerCase();
  return (
    /(^|\/)docs?\//.test(p) ||
    /\.(md|markdown|rst|txt|adoc)$/.test(p) ||
    /(^|\/)(license|changelog|authors)(\.|$)/.test(p)
  );
}

/** Commit trailers and sign-offs are not part of the task. */
function taskText(subject: string, body: string): string {
  const lines = body
    .split('\n')
    .filter((l) => !/^(signed-off-by|co-authored-by|reviewed-by|change-id):/i.test(l.trim()));
  const rest = lines.join('\n').trim();
  return rest ? `${subject}\n\n${rest}` : subject;
}

/** A merge of a pull request says "Merge pull request #N from …"; its body is the PR's title. */
function mergeSubject(subject: string, body: string): string {
  if (/^Merge (pull request|branch)/.test(subject)) {
    const first = body.split('\n').find((l) => l.trim() !== '');
    if (first) return first.trim();
  }
  return subject;
}

export async function findEvalTasks(
  gitDir: string,
  options: { head: string; limit: number; maxScan?: number },
): Promise<EvalTask[]> {
  if (!/^[0-9a-f]{40}$/.test(options.head))
    throw new PullwrightError('input_invalid', 'head must be a commit sha');
  const log = (
    await runGit([
      '--git-dir',
      gitDir,
      'log',
      '--first-parent',
      `--max-count=${options.maxScan ?? 2_000}`,
      '--format=%H%x00%P%x00%s%x00%b%x1e',
      options.head,
    ])
  ).stdout.toString('utf8');
  const tasks: EvalTask[] = [];
  for (const record of log.split('\x1e')) {
    if (tasks.length >= options.limit) break;
    const [sha, parents, subject, body] = record.replace(/^\n/, '').split('\x00');
    if (!sha || !parents) continue; // the root commit has no parent to start from
    const parentSha = parents.split(' ')[0]!;
    const names = await gitText([
      '--git-dir',
      gitDir,
      'diff',
      '--no-renames',
      '--name-only',
      '-z',
      parentSha,
      sha,
    ]);
    const paths = names.split('\x00').filter(Boolean);
    const testPaths = paths.filter(isTestPath);
    const codePaths = paths.filter((p) => !isTestPath(p) && !isDocPath(p));
    if (testPaths.length === 0 || codePaths.length === 0) continue;
    const isMerge = parents.split(' ').length > 1;
    const cleanSubject = isMerge ? mergeSubject(subject ?? '', body ?? '') : (subject ?? '');
    const text = isMerge
      ? taskText(cleanSubject, (body ?? '').split('\n').slice(1).join('\n'))
      : taskText(cleanSubject, body ?? '');
    const pr = /^Merge pull request #(\d+)\b/.exec(subject ?? '') ?? /\(#(\d+)\)\s*$/.exec(subject ?? '');
    tasks.push({
      ...(pr ? { pullNumber: Number(pr[1]) } : {}),
      sha,
      parentSha,
      kind: isMerge ? 'merge' : 'commit',
      subject: cleanSubject,
      text,
      source: 'commit-message',
      testPaths,
      codePaths,
    });
  }
  return tasks;
}
