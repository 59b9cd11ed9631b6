import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  finish,
  reply,
  type Scenario,
  text,
  tool,
  toolExchanges,
  writeFixFailingTestRepo,
} from '../twins/model/index.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test User',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test User',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { env: GIT_ENV, encoding: 'utf8' }).trim();
}

/** A real git repository holding the model twin's sample project, committed on `main`. */
export async function makeSampleRepo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-cli-repo-'));
  await writeFixFailingTestRepo(dir);
  git(dir, 'init', '--quiet', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test User');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'add', '--all');
  git(dir, 'commit', '--quiet', '-m', 'initial');
  return dir;
}

/** Commits `yaml` as the repository's .github/pullwright.yml. */
export async function commitRepoConfig(dir: string, yaml: string): Promise<void> {
  await mkdir(join(dir, '.github'), { recursive: true });
  await writeFile(join(dir, '.github/pullwright.yml'), yaml);
  git(dir, 'add', '--all');
  git(dir, 'commit', '--quiet', '-m', 'pullwright config');
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Containers still carrying the CLI run label of this run id (should be none after a run). */
export async function containersOfRun(runId: string): Promise<string[]> {
  const r = spawnSync(
    'docker',
    ['ps', '--all', '--quiet', '--filter', `label=dev.pullwright.cli-run=${runId}`],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`docker ps failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** Waits until a CLI-run sandbox container runs a process whose command line contains `pattern`. */
export async function waitForProcessInRunContainer(pattern: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ids = spawnSync('docker', ['ps', '-q', '--filter', 'label=dev.pullwright.cli-run'], {
      encoding: 'utf8',
    })
      .stdout.split('\n')
      .filter(Boolean);
    for (const id of ids) {
      const r = spawnSync('docker', ['exec', id, 'pgrep', '-f', pattern], { encoding: 'utf8' });
      if (r.status === 0) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`No sandbox process matching ${pattern} within ${timeoutMs} ms`);
}

/** A model that runs one bash command (after an optional remark), then finishes with `summary`. */
export function oneCommandScenario(input: {
  name: string;
  command: string;
  summary: string;
  remark?: string;
}): Scenario {
  return {
    name: input.name,
    description: `Runs \`${input.command}\`, then finishes.`,
    respond: (request) =>
      toolExchanges(request).length === 0
        ? reply(...(input.remark ? [text(input.remark)] : []), tool('bash', { command: input.command }))
        : finish(input.summary),
  };
}
