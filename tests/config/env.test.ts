import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/env.js';

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('applies documented defaults for the CLI', () => {
    const config = parseConfig('cli', {});
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.TRIGGER_PHRASE).toBe('@agent');
    expect(config.PORT).toBe(3000);
    expect(config.MAX_NETWORK).toBe('allowlist');
    expect(config.ALLOW_WORKFLOW_EDITS).toBe(false);
    expect(config.botLogin).toBe('pullwright[bot]');
  });

  it('lists every problem at once', () => {
    const problems = problemsOf(() =>
      parseConfig('app', {
        PORT: 'eighty',
        REDIS_URL: 'not a url',
        MAX_NETWORK: 'wide',
        ALLOW_WORKFLOW_EDITS: 'maybe',
      }),
    );
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(
      [
        'ALLOW_WORKFLOW_EDITS',
        'APP_ID',
        'MAX_NETWORK',
        'PORT',
        'PRIVATE_KEY or PRIVATE_KEY_PATH',
        'REDIS_URL',
        'WEBHOOK_SECRET',
      ].sort(),
    );
  });

  it('names the variables a role requires', () => {
    const problems = problemsOf(() => parseConfig('app', {}));
    expect(problems).toEqual([
      'APP_ID: is required for the app',
      'WEBHOOK_SECRET: is required for the app',
      'PRIVATE_KEY or PRIVATE_KEY_PATH: is required for the app',
    ]);
  });

  it('reads the private key from a file and unescapes \\n in the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-env-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'key.pem');
    writeFileSync(path, privateKey);
    const fromFile = parseConfig('worker', { APP_ID: '12', PRIVATE_KEY_PATH: path });
    expect(fromFile.privateKey).toBe(privateKey);
    const fromVar = parseConfig('worker', { APP_ID: '12', PRIVATE_KEY: privateKey.replace(/\n/g, '\\n') });
    expect(fromVar.privateKey).toBe(privateKey);
    expect(
      problemsOf(() => parseConfig('worker', { APP_ID: '12', PRIVATE_KEY_PATH: join(dir, 'nope') })),
    ).toEqual([`PRIVATE_KEY_PATH: cannot read ${join(dir, 'nope')}`]);
  });

  it('treats empty strings as unset', () => {
    expect(parseConfig('cli', { PORT: '', APP_SLUG: '' }).PORT).toBe(3000);
  });

  it('stops a process at boot with a readable message, not a stack trace', () => {
    const script = "import { loadConfigOrExit } from './src/config/env.ts'; loadConfigOrExit('app');";
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '../..'),
      env: { PATH: process.env.PATH, PORT: 'x' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toContain('PORT:');
    expect(result.stderr).toContain('APP_ID: is required for the app');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('thinking settings', () => {
  it('defaults to auto thinking with the model default effort and an 8000-token budget', () => {
    const config = parseConfig('cli', {});
    expect(config.PULLWRIGHT_THINKING).toBe('auto');
    expect(config.PULLWRIGHT_EFFORT).toBeUndefined();
    expect(config.PULLWRIGHT_THINKING_BUDGET).toBe(8000);
  });

  it('accepts the documented values and lists bad ones', () => {
    const config = parseConfig('cli', {
      PULLWRIGHT_THINKING: 'budgeted',
      PULLWRIGHT_EFFORT: 'xhigh',
      PULLWRIGHT_THINKING_BUDGET: '2048',
    });
    expect(config).toMatchObject({
      PULLWRIGHT_THINKING: 'budgeted',
      PULLWRIGHT_EFFORT: 'xhigh',
      PULLWRIGHT_THINKING_BUDGET: 2048,
    });
    const problems = problemsOf(() =>
      parseConfig('cli', {
        PULLWRIGHT_THINKING: 'on',
        PULLWRIGHT_EFFORT: 'huge',
        PULLWRIGHT_THINKING_BUDGET: '100',
      }),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'PULLWRIGHT_THINKING',
      'PULLWRIGHT_EFFORT',
      'PULLWRIGHT_THINKING_BUDGET',
    ]);
  });
});

describe('transcript retention', () => {
  it('keeps transcripts 30 days by default, accepts 0 (none kept past the run) and refuses negatives or fractions', () => {
    expect(parseConfig('cli', {}).TRANSCRIPT_RETENTION_DAYS).toBe(30);
    expect(parseConfig('cli', { TRANSCRIPT_RETENTION_DAYS: '0' }).TRANSCRIPT_RETENTION_DAYS).toBe(0);
    for (const bad of ['-1', '1.5', 'forever'])
      expect(problemsOf(() => parseConfig('cli', { TRANSCRIPT_RETENTION_DAYS: bad }))[0]).toMatch(
        /^TRANSCRIPT_RETENTION_DAYS:/,
      );
  });
});

describe('follow-through, run pages, environments and harness settings', () => {
  it('has the documented defaults', () => {
    const config = parseConfig('cli', {});
    expect(config.MAX_CI_REPAIRS).toBe(2);
    expect(config.RUN_RETENTION_DAYS).toBe(30);
    expect(config.RUN_RECORD_MAX_BYTES).toBe(1_048_576);
    expect(config.RUN_STORE_MAX_BYTES).toBe(268_435_456);
    expect(config.SNAPSHOTS_ENABLED).toBe(true);
    expect(config.SNAPSHOT_MAX_AGE_DAYS).toBe(7);
    expect(config.SANDBOX_EXEC_SERVER).toBe(true);
    expect(config.SUBAGENT_SHELL).toBe(false);
    expect(config.METRICS_REPO_LABELS).toBe(false);
    expect(config.MAX_MONTHLY_COST_USD).toBeUndefined();
    expect(config.MEMORY_RETENTION_DAYS).toBe(90);
  });

  it('refuses sign-in without a cookie key, and half an OAuth client', () => {
    expect(
      problemsOf(() => parseConfig('cli', { GITHUB_CLIENT_ID: 'Iv1.abc', GITHUB_CLIENT_SECRET: 's' })),
    ).toEqual(['SESSION_SECRET: is required with GITHUB_CLIENT_ID (it signs the sign-in cookies)']);
    expect(
      problemsOf(() => parseConfig('cli', { GITHUB_CLIENT_ID: 'Iv1.abc', SESSION_SECRET: 'x'.repeat(32) })),
    ).toEqual(['GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET: set both or neither']);
    expect(problemsOf(() => parseConfig('cli', { SESSION_SECRET: 'short' }))[0]).toMatch(/^SESSION_SECRET:/);
    const ok = parseConfig('cli', {
      GITHUB_CLIENT_ID: 'Iv1.abc',
      GITHUB_CLIENT_SECRET: 'secret',
      SESSION_SECRET: 'x'.repeat(32),
    });
    expect(ok.GITHUB_CLIENT_ID).toBe('Iv1.abc');
  });

  it('caps CI repairs at 20 and refuses a negative monthly budget', () => {
    expect(problemsOf(() => parseConfig('cli', { MAX_CI_REPAIRS: '21' }))[0]).toMatch(/^MAX_CI_REPAIRS:/);
    expect(problemsOf(() => parseConfig('cli', { MAX_MONTHLY_COST_USD: '-1' }))[0]).toMatch(
      /^MAX_MONTHLY_COST_USD:/,
    );
  });
});
