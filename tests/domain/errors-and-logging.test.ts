import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/env.js';
import { PullwrightError, toPullwrightError } from '../../src/errors.js';
import { createLogger, REDACT_PATHS, redactText } from '../../src/logger.js';

describe('PullwrightError', () => {
  it('carries a code and a retryable flag with sensible defaults', () => {
    expect(new PullwrightError('rate_limited', 'slow down').retryable).toBe(true);
    expect(new PullwrightError('forbidden', 'no').retryable).toBe(false);
    expect(new PullwrightError('internal', 'x', { retryable: true }).retryable).toBe(true);
  });

  it('wraps foreign errors and keeps its own', () => {
    const own = new PullwrightError('conflict', 'c');
    expect(toPullwrightError(own)).toBe(own);
    const wrapped = toPullwrightError(new Error('boom'), 'git_failed');
    expect(wrapped.code).toBe('git_failed');
    expect(wrapped.message).toBe('boom');
    expect(wrapped.cause).toBeInstanceOf(Error);
  });
});

describe('redaction', () => {
  it('removes tokens of well-known formats from free text', () => {
    const text = [
      'token ghs_abcdefghijklmnopqrstuvwxyz0123',
      'pat github_pat_11ABCDEFG0123456789_abcdefghijkl',
      'key sk-ant-api03-abcdefghijklmnop',
      'url https://x-access-token:ghs_secretsecret@github.com/o/r.git',
      'extra hunter2hunter2',
    ].join('\n');
    const out = redactText(text, ['hunter2hunter2']);
    expect(out).not.toMatch(/ghs_|github_pat_|sk-ant-|hunter2/);
    expect(out.match(/\[REDACTED\]/g)?.length).toBeGreaterThanOrEqual(5);
  });

  it('censors secret fields in log objects', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } }, sink);
    log.info(
      { token: 'ghs_x', req: { headers: { authorization: 'Bearer y' } }, repo: 'o/r' },
      'Request sent',
    );
    const entry = JSON.parse(lines[0] ?? '{}');
    expect(entry.token).toBe('[REDACTED]');
    expect(entry.req.headers.authorization).toBe('[REDACTED]');
    expect(entry.repo).toBe('o/r');
    expect(entry.msg).toBe('Request sent');
  });

  // Bug (issue 13): the redact path named env.GITHUB_PRIVATE_KEY, but the variable is PRIVATE_KEY.
  it('keeps every secret of the env and the parsed config out of a log line', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    const pem = [
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEowIBAAKCAQEAsecretbody',
      '-----END RSA PRIVATE KEY-----',
    ];
    const env = {
      APP_ID: '1',
      PRIVATE_KEY: pem.join('\\n'),
      WEBHOOK_SECRET: 'webhook-secret-value',
      OPERATOR_TOKEN: 'operator-token-value-1234',
      ANTHROPIC_API_KEY: 'anthropic-key-value',
      REDIS_URL: 'redis://:redis-password-value@redis:6379',
    };
    const config = parseConfig('app', env);
    log.info({ env, config }, 'Configuration loaded');
    log.info(env, 'Environment at boot');
    const out = lines.join('');
    for (const secret of [
      'secretbody',
      'webhook-secret-value',
      'operator-token-value',
      'anthropic-key-value',
      'redis-password-value',
    ]) {
      expect(out).not.toContain(secret);
    }
    const entry = JSON.parse(lines[0] ?? '{}');
    expect(entry.env.PRIVATE_KEY).toBe('[REDACTED]');
    expect(entry.config.privateKey).toBe('[REDACTED]');
    // The URL keeps its host, so the log still says where Redis is.
    expect(entry.config.REDIS_URL).toBe('redis://[REDACTED]@redis:6379');
    expect(entry.config.APP_ID).toBe('1');
  });
});
