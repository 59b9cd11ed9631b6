import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localRedisUrl } from '../../scripts/local-redis-url.js';

const run = promisify(execFile);
const SERVICES = join(import.meta.dirname, '../../scripts/services.sh');

/** Sends one inline command on a fresh connection and returns the first reply line. */
function rawCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.split('\r\n')[0] ?? '');
      }
    });
    socket.on('error', reject);
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Issue 14, item 1: the Redis the tests and the demo use had no password, and a job
 * written into it runs with the app's credentials. services.sh now starts it with a
 * generated one. Runs its own Redis on a free port and a private state dir, so the
 * shared one is never touched.
 */
describe('scripts/services.sh redis', () => {
  let env: NodeJS.ProcessEnv;
  let stateDir: string;
  let port: number;
  const clients: Redis[] = [];
  const connect = (url: string) => {
    const client = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    clients.push(client);
    return client;
  };
  const services = (command: string) => run('bash', [SERVICES, command], { env, timeout: 60_000 });

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'pw-services-'));
    port = await freePort();
    const { REDIS_URL: _ignored, ...rest } = process.env;
    env = { ...rest, PULLWRIGHT_REDIS_PORT: String(port), PULLWRIGHT_STATE_DIR: stateDir };
    await services('redis');
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    if (env) await services('down').catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('refuses a connection without the password (NOAUTH)', async () => {
    // Raw RESP, as a forger would type it: no client library, no password.
    expect(await rawCommand(port, 'PING')).toMatch(/^-NOAUTH/);
    expect(await rawCommand(port, 'SET pw:forged-job x')).toMatch(/^-NOAUTH/);
  });

  it('hands local consumers the URL with the password, in private files', async () => {
    const url = localRedisUrl(env);
    expect(url).toMatch(new RegExp(`^redis://:[0-9a-f]{48}@127\\.0\\.0\\.1:${port}$`));
    expect(await connect(url).ping()).toBe('PONG');
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    for (const file of ['redis-password', 'redis-url', 'redis.conf']) {
      expect(statSync(join(stateDir, file)).mode & 0o777, file).toBe(0o600);
    }
  });

  it('is idempotent: a second run keeps the same server and the same password', async () => {
    const url = localRedisUrl(env);
    const before = (await connect(url).info('server')).match(/run_id:(\w+)/)?.[1];
    await services('redis');
    expect(localRedisUrl(env)).toBe(url);
    expect((await connect(url).info('server')).match(/run_id:(\w+)/)?.[1]).toBe(before);
  });

  it('refuses a URL file others could have written', () => {
    const file = join(stateDir, 'redis-url');
    chmodSync(file, 0o666);
    try {
      expect(() => localRedisUrl(env)).toThrow(/writable by others/);
    } finally {
      chmodSync(file, 0o600);
    }
  });
});

/** A Redis services.sh did not start, on its own port and folder: what the script finds on a used machine. */
describe('scripts/services.sh redis with a Redis already running', () => {
  let stateDir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'pw-services-'));
    port = await freePort();
    const { REDIS_URL: _ignored, ...rest } = process.env;
    env = { ...rest, PULLWRIGHT_REDIS_PORT: String(port), PULLWRIGHT_STATE_DIR: stateDir };
  });

  afterEach(async () => {
    await run('redis-cli', [
      '-p',
      String(port),
      '-a',
      'other-password',
      '--no-auth-warning',
      'shutdown',
      'nosave',
    ]).catch(() => {});
    await run('redis-cli', ['-p', String(port), 'shutdown', 'nosave']).catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
  });

  const startRedis = (...extra: string[]) =>
    run('redis-server', [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--daemonize',
      'yes',
      '--save',
      '',
      '--dir',
      stateDir,
      '--logfile',
      join(stateDir, 'own.log'),
      ...extra,
    ]);
  const runId = async () =>
    (await run('redis-cli', ['-p', String(port), 'info', 'server'])).stdout.match(/run_id:(\w+)/)?.[1];

  it('leaves a password-less Redis running (others use it), warns, and hands out its URL', async () => {
    await startRedis();
    await expect.poll(runId).toBeDefined();
    const before = await runId();
    const { stderr } = await run('bash', [SERVICES, 'redis'], { env });
    expect(stderr).toContain('answers without a password');
    expect(localRedisUrl(env)).toBe(`redis://127.0.0.1:${port}`);
    expect(await runId()).toBe(before);
  });

  it('stops with a clear error when a Redis on the port wants another password', async () => {
    await startRedis('--requirepass', 'other-password');
    await expect.poll(() => rawCommand(port, 'PING').catch(() => '')).toMatch(/^-NOAUTH/);
    await expect(run('bash', [SERVICES, 'redis'], { env })).rejects.toThrow(
      /wants a password that is not the one/,
    );
  });
});
