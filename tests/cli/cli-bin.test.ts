import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelTwin } from '../twins/model/index.js';
import {
  commitRepoConfig,
  containersOfRun,
  makeSampleRepo,
  oneCommandScenario,
  removeDir,
  waitForProcessInRunContainer,
} from './cli-helpers.js';

/** The installed entry point, run as a user would: errors are one clear line, never a stack trace. */

const BIN = join(process.cwd(), 'bin/pullwright.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
  const r = spawnSync(process.execPath, [BIN, ...args], { env: clean, encoding: 'utf8', timeout: 150_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the bin asynchronously (so a model twin in this process can answer) and times its exit. */
async function cliAsync(
  args: string[],
  env: Record<string, string>,
  killAfterMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string; exitedAfterOutputMs: number }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let lastOutputAt = Date.now();
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
    lastOutputAt = Date.now();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  // A lingering process is killed (and the test fails on its exit time) instead of waiting minutes.
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killer);
  return { code, stdout, stderr, exitedAfterOutputMs: Date.now() - lastOutputAt };
}

/** One bash command in the sandbox, then finish: enough to start the sandbox's network plumbing. */
const oneCommand = oneCommandScenario({
  name: 'one-command',
  command: 'ls',
  remark: 'Looking around.',
  summary: 'Looked around; nothing to change.',
});

function expectNoStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

let repo: string;
let notGit: string;

beforeAll(async () => {
  repo = await makeSampleRepo();
  notGit = await mkdtemp(join(tmpdir(), 'pw-cli-plain-'));
});

afterAll(async () => {
  await removeDir(repo);
  await removeDir(notGit);
});

describe('bin/pullwright.js', () => {
  it('prints help and exits 0 for --help', () => {
    const r = cli(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pullwright run --repo <path> --task');
  }, 300_000);

  it('rejects an unknown command and a missing task with usage (exit 2)', () => {
    const unknown = cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command: frobnicate');
    const noTask = cli(['run', '--repo', repo]);
    expect(noTask.code).toBe(2);
    expect(noTask.stderr).toContain('--task (or --task-file) is required');
    const badTurns = cli(['run', '--repo', repo, '--task', 'x', '--max-turns', 'lots'], {
      ANTHROPIC_API_KEY: 'sk-ant-test-key-123456',
    });
    expect(badTurns.code).toBe(2);
    expect(badTurns.stderr).toContain('--max-turns must be a positive integer');
  }, 300_000);

  it('explains a missing key, a bad path and a folder that is not a repository, without a stack trace', () => {
    const noKey = cli(['run', '--repo', repo, '--task', 'x']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('ANTHROPIC_API_KEY is not set');
    expectNoStack(noKey.stderr);

    const key = { ANTHROPIC_API_KEY: 'sk-ant-test-key-123456' };
    const badPath = cli(['run', '--repo', '/nonexistent/pw', '--task', 'x', '--json'], key);
    expect(badPath.code).toBe(2);
    expect(JSON.parse(badPath.stdout)).toEqual({
      outcome: 'error',
      error: { code: 'input_invalid', message: expect.stringContaining('does not exist') },
    });
    expectNoStack(badPath.stderr);

    const plain = cli(['run', '--repo', notGit, '--task', 'x'], key);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('is not inside a git repository');
    expectNoStack(plain.stderr);

    // A repository of another user: git will not read it (its config could run code).
    const foreign = join(notGit, 'foreign');
    spawnSync('git', ['init', '-q', foreign]);
    spawnSync('chown', ['-R', '4242:4242', foreign]);
    const other = cli(['run', '--repo', foreign, '--task', 'x'], key);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('belongs to another user');
    expectNoStack(other.stderr);
  }, 300_000);

  it('explains that Docker is not reachable or the sandbox image is missing', () => {
    const r = cli(['run', '--repo', repo, '--task', 'x'], {
      ANTHROPIC_API_KEY: 'sk-ant-test-key-123456',
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Docker is not reachable');
    expectNoStack(r.stderr);
    const noImage = cli(['run', '--repo', repo, '--task', 'x'], {
      ANTHROPIC_API_KEY: 'sk-ant-test-key-123456',
      SANDBOX_IMAGE: `pullwright-missing-${process.pid}:latest`,
    });
    expect(noImage.code).toBe(2);
    expect(noImage.stderr).toContain('is not present. Build it with: bash scripts/services.sh up');
    expectNoStack(noImage.stderr);
  }, 300_000);

  it('cancels on Ctrl-C (SIGINT) in the middle of a long command: exit 130, outcome cancelled, sandbox removed', async () => {
    const scenario = oneCommandScenario({
      name: 'long-command-bin',
      command: 'sleep 301; echo finished',
      remark: 'Running the slow step.',
      summary: 'Slow step finished.',
    });
    const twin = await startModelTwin({ scenario });
    try {
      const child = spawn(
        process.execPath,
        [BIN, 'run', '--repo', repo, '--task', 'Run the slow step.', '--json'],
        {
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            ANTHROPIC_API_KEY: twin.apiKey,
            ANTHROPIC_BASE_URL: twin.url,
            PULLWRIGHT_MODEL: 'claude-sonnet-5-5',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await waitForProcessInRunContainer('sleep 301');
      child.kill('SIGINT');
      const code = await exited;
      expect(code).toBe(130);
      expect(stderr).toContain('Cancelling');
      const result = JSON.parse(stdout) as { outcome: string; branch: string | null; transcriptPath: string };
      expect(result.outcome).toBe('cancelled');
      expect(result.branch).toBeNull();
      const runId = result.transcriptPath.split('/').at(-2) ?? '';
      expect(await containersOfRun(runId)).toEqual([]);
    } finally {
      await twin.close();
    }
  }, 300_000);

  it('--json --verbose: stdout is exactly one JSON object, the logs go to stderr', async () => {
    const twin = await startModelTwin({ scenario: oneCommand });
    try {
      const r = await cliAsync(['run', '--repo', repo, '--task', 'Look around.', '--json', '--verbose'], {
        ANTHROPIC_API_KEY: twin.apiKey,
        ANTHROPIC_BASE_URL: twin.url,
        PULLWRIGHT_MODEL: 'claude-sonnet-5-5',
      });
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout) as { outcome: string };
      expect(result.outcome).toBe('no-changes');
      // The verbose logs (pino JSON lines) are on stderr.
      expect(r.stderr).toContain('"msg":');
    } finally {
      await twin.close();
    }
  }, 300_000);

  it('exits within seconds of printing its result when the agent network is an allowlist', async () => {
    const allowRepo = await makeSampleRepo();
    const twin = await startModelTwin({ scenario: oneCommand });
    try {
      await commitRepoConfig(
        allowRepo,
        'network:\n  agent:\n    mode: allowlist\n    hosts: [registry.npmjs.org]\n',
      );
      const r = await cliAsync(['run', '--repo', allowRepo, '--task', 'Look around.', '--json'], {
        ANTHROPIC_API_KEY: twin.apiKey,
        ANTHROPIC_BASE_URL: twin.url,
        PULLWRIGHT_MODEL: 'claude-sonnet-5-5',
      });
      const result = JSON.parse(r.stdout) as { outcome: string; notes: string[] };
      expect(result.outcome).toBe('no-changes');
      expect(result.notes.join('\n')).not.toMatch(/pullwright\.yml/);
      expect(r.exitedAfterOutputMs).toBeLessThan(5_000);
      expect(r.code).toBe(0);
    } finally {
      await twin.close();
      await removeDir(allowRepo);
    }
  }, 300_000);
});
