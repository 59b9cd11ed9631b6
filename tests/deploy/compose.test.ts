import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_PATH } from '../../src/app/app-server.js';
import { startGitHubTwin } from '../twins/github/index.js';
import type { GitHubTwin } from '../twins/github/types.js';
import { type ModelTwin, startModelTwin, writeFixFailingTestRepo } from '../twins/model/index.js';

/**
 * The deployment as users run it (issue 14): the REAL docker-compose.yml and Dockerfile, built
 * and started with Debian's docker-compose (v1) against the GitHub and model twins on this
 * machine. No registry is reachable here, so scripts/compose-images.sh builds local stand-ins
 * for the two base images. The twins listen on the Docker bridge's address on this host
 * (docker0), which the compose network's containers reach through the host; nothing else.
 *
 * It covers two promises: an assigned issue becomes a PR with an `allowlist` network (whose
 * egress socket must be bind-mountable from the worker container), and Redis's AOF keeps a
 * queued job across `docker compose restart redis`. No skip: without Docker it fails.
 */
const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const HOST_DATA = '/var/lib/pullwright';
const BLOCKED_HOST = 'blocked.invalid';
const egressCheck = `test "$(curl -s -o /dev/null -w '%{http_code}' http://${BLOCKED_HOST}/)" = 403`;
/** Kept between runs (the layers are the slow part); sandboxes and state are removed. */
const APP_IMAGE = 'pullwright-compose-test:latest';

const started = Date.now();
/** Progress on stderr: the slow steps (image builds, the run) are visible while they happen. */
function step(what: string): void {
  process.stderr.write(`[compose test +${((Date.now() - started) / 1000).toFixed(0)} s] ${what}\n`);
}

async function sh(cmd: string, args: string[], timeout = 240_000): Promise<string> {
  if (cmd === 'docker-compose') {
    const shown = args.slice(args.indexOf('-f', args.indexOf('-f') + 1) + 2).join(' ');
    step(shown.replace(/REDISCLI_AUTH=\S+/, 'REDISCLI_AUTH=…'));
  }
  try {
    const { stdout } = await run(cmd, args, { timeout, maxBuffer: 64 * 1024 ** 2, cwd: ROOT });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`.slice(0, 8_000));
  }
}

/**
 * The host's address on the default Docker bridge: reachable from containers, local to this
 * machine. Read with `ip`, as Node omits a bridge whose link is down (no container on it).
 */
async function bridgeAddress(): Promise<string> {
  const out = await sh('ip', ['-4', '-o', 'addr', 'show', 'docker0']).catch(() => '');
  const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
  if (!address) throw new Error('No docker0 address: is the Docker engine running (scripts/services.sh up)?');
  return address;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The sample repository as the twin's seed wants it: relative path → content. */
async function filesOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = await readFile(path, 'utf8');
  }
  return out;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null> | T | null,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe('docker compose up, as users run it (real docker-compose.yml)', { timeout: 300_000 }, () => {
  const project = `pwdeploy${randomBytes(4).toString('hex')}`;
  const hadHostData = existsSync(HOST_DATA);
  const redisPassword = randomBytes(16).toString('hex');
  let dir: string;
  let github: GitHubTwin;
  let model: ModelTwin;
  let port: number;
  let compose: (...args: string[]) => Promise<string>;
  let workerHostIds: string[] = [];

  beforeAll(async () => {
    step('services and stand-in images');
    await sh('bash', [join(ROOT, 'scripts/services.sh'), 'up'], 600_000);
    await sh('bash', [join(ROOT, 'scripts/compose-images.sh')], 600_000);
    const host = await bridgeAddress();
    dir = await mkdtemp(join(tmpdir(), 'pw-compose-'));
    github = await startGitHubTwin({ host });
    model = await startModelTwin({ scenario: 'implement-issue', host });
    port = await freePort();

    const sample = join(dir, 'sample');
    await writeFixFailingTestRepo(sample);
    const files = await filesOf(sample);
    // Setup (its own container) and a verify command (in the agent's) run with an allowlist network
    // and prove the egress path end to end: a host outside the allowlist gets the worker proxy's
    // 403, which only happens when the sandbox's relay reached the worker's egress socket through
    // the bind mount (with the socket in the worker's private /tmp, curl got no answer at all).
    files['.github/pullwright.yml'] = [
      `setup: ${egressCheck}`,
      'network:',
      '  setup: { mode: allowlist, hosts: [example.org] }',
      '  agent: { mode: allowlist, hosts: [example.org] }',
      'verify:',
      '  - npm test',
      `  - ${egressCheck}`,
      '',
    ].join('\n');
    await rm(sample, { recursive: true, force: true });
    github.seed.user({ login: 'alice' });
    await github.seed.repo({ owner: 'alice', name: 'mathlib', files });
    github.seed.installation({ account: 'alice', repos: ['alice/mathlib'] });

    const env = {
      APP_ID: String(github.app.id),
      PRIVATE_KEY: github.app.privateKey.replace(/\n/g, '\\n'),
      WEBHOOK_SECRET: github.app.webhookSecret,
      APP_SLUG: github.app.slug,
      GITHUB_API_URL: github.url,
      GITHUB_GIT_URL: github.url,
      ANTHROPIC_API_KEY: model.apiKey,
      ANTHROPIC_BASE_URL: model.url,
      REDIS_PASSWORD: redisPassword,
      QUEUE_PREFIX: project,
      LOG_LEVEL: 'info',
      // Compose variables: the app on loopback, on a free port.
      PUBLISH_ADDRESS: '127.0.0.1',
      PUBLISH_PORT: String(port),
    };
    await writeFile(
      join(dir, '.env'),
      `${Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n')}\n`,
      { mode: 0o600 },
    );
    // Only the build context moves (the project directory, where `.env` is read, is the temp
    // folder), and the built image gets one fixed name so the next run starts from its cache.
    await writeFile(
      join(dir, 'docker-compose.override.yml'),
      ['app', 'worker']
        .flatMap((service) => [`  ${service}:`, `    build: ${ROOT}`, `    image: ${APP_IMAGE}`])
        .concat([''])
        .join('\n')
        .replace(/^/, 'services:\n'),
    );
    const base = ['-p', project, '--project-directory', dir, '-f', join(ROOT, 'docker-compose.yml')];
    compose = (...args) =>
      sh('docker-compose', [...base, '-f', join(dir, 'docker-compose.override.yml'), ...args]);
    await compose('build', '-q');
    await compose('up', '-d');
    github.setWebhookUrl(`http://127.0.0.1:${port}${WEBHOOK_PATH}`);
    step('waiting for the app');
    await waitFor(
      'the app to answer /healthz',
      async () =>
        (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5_000) })).ok,
      90_000,
    );
    workerHostIds = (await compose('ps', '-q', 'worker')).trim().split('\n').filter(Boolean);
  }, 900_000);

  afterAll(async () => {
    if (compose) {
      const hostIds = new Set<string>();
      for (const id of workerHostIds) {
        hostIds.add(id.slice(0, 12));
      }
      await compose('down', '-v', '--remove-orphans', '-t', '5').catch(() => undefined);
      // Sandboxes the worker started carry its host id (the container's hostname).
      for (const id of hostIds) {
        const left = await sh('docker', ['ps', '-aq', '--filter', `label=dev.pullwright.host=${id}`]).catch(
          () => '',
        );
        for (const c of left.split('\n').filter(Boolean)) await sh('docker', ['rm', '-f', c]).catch(() => '');
      }
    }
    await model?.close();
    await github?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (!hadHostData) await rm(HOST_DATA, { recursive: true, force: true });
  }, 120_000);

  // The password the compose file requires, handed to redis-cli the way its healthcheck does.
  const redisCli = (...args: string[]) =>
    compose('exec', '-T', '-e', `REDISCLI_AUTH=${redisPassword}`, 'redis', 'redis-cli', ...args);

  it('keeps a queued job across `docker compose restart redis`, then turns the issue into a PR with an allowlist network', async () => {
    // Queue the job while no worker runs, so it is only in Redis.
    await compose('stop', '-t', '30', 'worker');
    const { number } = github.seed.issue({
      repo: 'alice/mathlib',
      title: 'add() and average() return wrong results',
      body: '`add(2, 3)` returns -1 and `average([1, 2, 3])` returns 3. `npm test` shows both failures.',
      author: 'alice',
    });
    const { delivery } = await github.actions.assignIssue({
      repo: 'alice/mathlib',
      number,
      assignee: github.app.botLogin,
      sender: 'alice',
    });
    expect(delivery.status).toBe(200);
    const queuedKeys = async () =>
      (await redisCli('--scan', '--pattern', `${project}:*:wait`)).trim() !== '' ? true : null;
    await waitFor('the job to be queued', queuedKeys, 30_000);
    const info = await redisCli('info', 'persistence');
    expect(info).toMatch(/aof_enabled:1/);

    await compose('restart', 'redis');
    await waitFor('redis to answer again', async () => /PONG/.test(await redisCli('ping')), 30_000);
    expect(await queuedKeys()).toBe(true);

    await compose('start', 'worker');
    step('waiting for the pull request');
    const tracking = await waitFor(
      'a finished tracking comment',
      () =>
        github.inspect
          .comments('alice/mathlib', number)
          .find(
            (c) =>
              c.body.includes('pullwright:tracking') && /Done|Failed|refused|without changes/.test(c.body),
          ) ?? null,
      180_000,
    );
    expect(tracking.body).toContain('✅ Done');
    const pulls = github.inspect.pulls('alice/mathlib');
    expect(pulls).toHaveLength(1);
    const pull = pulls[0]!;
    expect(pull.head).toMatch(/^pullwright\/issue-\d+-/);
    const diff = await github.inspect.diff('alice/mathlib', pull.number);
    expect(diff).toMatch(/^\+\s*return a \+ b;/m);
    // The verify commands passed (the egress check among them) and the proxy reported the host
    // it refused: the egress socket was reached from the agent's container.
    expect(pull.body).toContain('`npm test` — ✅ passed');
    expect(pull.body).not.toContain('❌');
    expect(tracking.body).toContain(BLOCKED_HOST);
    expect(tracking.body).toContain(`/pull/${pull.number}`);
  });
});
