import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** `pullwright eval` as a user runs it: help, usage errors and setup errors are clear lines and exit codes. */

const BIN = join(process.cwd(), 'bin/pullwright.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pullwright eval (command line)', () => {
  it('prints its help with exit 0, and is listed in the main usage', () => {
    const help = cli(['eval', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: pullwright eval --repo <path> [--limit N] [--json]');
    expect(help.stdout).toContain('--test-command <cmd>');
    expect(cli(['--help']).stdout).toContain('pullwright eval --repo <path>');
  });

  it('refuses bad options with exit 2 and one line, JSON on stdout with --json', () => {
    const bad = cli(['eval', '--limit', 'zero']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^pullwright: --limit must be a positive integer, got zero\n/);
    const unknown = cli(['eval', '--frobnicate', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ outcome: 'error', error: { code: 'usage' } });
    expect(unknown.stderr).not.toMatch(/\bat .+\.ts:\d+/); // no stack trace
  });

  it('says what is missing: the API key, or a git repository', async () => {
    const noKey = cli(['eval', '--repo', '.']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('ANTHROPIC_API_KEY is not set');
    const dir = await mkdtemp(join(tmpdir(), 'pw-eval-cli-'));
    try {
      const notRepo = cli(['eval', '--repo', dir], { ANTHROPIC_API_KEY: 'sk-ant-test' });
      expect(notRepo.code).toBe(2);
      expect(notRepo.stderr).toContain('is not inside a git repository');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
