import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Page } from 'puppeteer-core';
import { type AppServer, startAppServer } from '../../src/app/app-server.js';
import type { Task } from '../../src/domain/task.js';
import { createSilentLogger } from '../../src/logger.js';
import { createCostLedger } from '../../src/runs/cost-ledger.js';
import { createRunStore, type RunStore } from '../../src/runs/run-store.js';
import { createRunRecorder, type RunRecorder } from '../../worker/run-record/run-recorder.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../queue/redis-helpers.js';
import { startGitHubTwin } from '../twins/github/index.js';
import { twinOAuthClient } from '../twins/github/routes-oauth.js';
import { twinSignInCookie } from '../twins/github/twin-web.js';
import type { GitHubTwin } from '../twins/github/types.js';
import { DEMO_PATCH, implementTask, sessionResult } from './run-fixtures.js';

/**
 * The run pages for real: the GitHub twin (OAuth, users, a private repository
 * and the app's installation), the app server with sign-in configured, Redis,
 * and the worker's recorder writing runs into the same store the pages read.
 *
 * People: alice writes to acme/widgets, bob reads it, eve has no access.
 */
export interface PagesHarness {
  twin: GitHubTwin;
  app: AppServer;
  store: RunStore;
  prefix: string;
  installationId: number;
  tokens: Record<'alice' | 'bob' | 'eve', string>;
  recorder(task?: Partial<Parameters<typeof implementTask>[0]>, jobId?: string): RunRecorder;
  task(over?: Partial<Parameters<typeof implementTask>[0]>): Task;
  close(): Promise<void>;
}

export async function startPagesHarness(options: { maxRunBytes?: number } = {}): Promise<PagesHarness> {
  const twin = await startGitHubTwin();
  const tokens = {
    alice: twin.seed.user({ login: 'alice' }).token,
    bob: twin.seed.user({ login: 'bob' }).token,
    eve: twin.seed.user({ login: 'eve' }).token,
  };
  twin.seed.user({ login: 'acme' });
  await twin.seed.repo({
    owner: 'acme',
    name: 'widgets',
    private: true,
    files: { 'README.md': '# widgets\n' },
  });
  const installationId = twin.seed.installation({ account: 'acme' }).id;
  twin.seed.collaborator('acme/widgets', 'alice', 'write');
  twin.seed.collaborator('acme/widgets', 'bob', 'read');

  const prefix = uniquePrefix('pages');
  const { clientId, clientSecret } = twinOAuthClient(twin.url);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const settings = {
    auth: {
      clientId,
      clientSecret,
      sessionSecret: randomBytes(32).toString('hex'),
      webUrl: twin.url,
      apiUrl: twin.url,
    },
    retentionDays: 30,
    maxRunBytes: options.maxRunBytes ?? 1_048_576,
    maxTotalBytes: 268_435_456,
    monthlyBudgetUsd: 25,
    metricsRepoLabels: true,
    // Short, so a test sees access changed on GitHub take effect.
    accessTtlSeconds: 1,
  };
  const app = await startAppServer({
    appId: 1,
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    webhookSecret: 'pages-test-secret',
    githubApiUrl: twin.url,
    redisUrl: REDIS_URL,
    queuePrefix: prefix,
    port: 0,
    host: '127.0.0.1',
    settings: {
      appSlug: 'pullwright',
      botLogin: 'pullwright[bot]',
      triggerPhrase: '@agent',
      caps: { MAX_NETWORK: 'allowlist', ALLOW_WORKFLOW_EDITS: false },
    },
    log: createSilentLogger(),
    runPages: settings,
  });
  const store = createRunStore({ redis: app.redis, prefix, ...settings });
  const ledger = createCostLedger(app.redis, prefix);
  const task = (over: Partial<Parameters<typeof implementTask>[0]> = {}) =>
    implementTask({ installationId, owner: 'acme', name: 'widgets', ...over });
  return {
    twin,
    app,
    store,
    prefix,
    installationId,
    tokens,
    task,
    recorder: (over = {}, jobId = `job-${randomBytes(4).toString('hex')}`) =>
      createRunRecorder({
        store,
        ledger,
        task: task(over),
        jobId,
        secrets: [],
        log: createSilentLogger(),
        publicUrl: app.url,
      }),
    async close() {
      await deletePrefix(app.redis, prefix);
      await app.close();
      await twin.close();
    },
  };
}

/** A finished run like the demo's: a plan, commands, a file view, an edit, model turns, verify and the diff. */
export async function recordDemoRun(
  recorder: RunRecorder,
  extra: { toolOutput?: string } = {},
): Promise<void> {
  recorder.started({ title: 'Add a greeting function' });
  recorder.links({
    issueUrl: 'http://twin.test/acme/widgets/issues/12',
    trackingCommentUrl: 'http://twin.test/acme/widgets/issues/12#issuecomment-1',
  });
  recorder.onSession({ type: 'phase', phase: 'sandbox' });
  recorder.onSession({ type: 'phase', phase: 'agent' });
  const turn = (n: number, text: string) =>
    recorder.onSession({
      type: 'turn',
      turn: n,
      usage: { input: 1800, output: 240, cacheRead: 5200, cacheWrite: 900 },
      ...({ costUsd: 0.0123, model: 'claude-sonnet-4-5', text, durationMs: 2100 } as object),
    } as never);
  turn(1, 'I will look at the repository layout first.');
  recorder.onSession({
    type: 'plan',
    items: [
      { step: 'Read the existing code', status: 'in_progress' },
      { step: 'Add src/greet.ts with greet()', status: 'pending' },
      { step: 'Run the tests', status: 'pending' },
    ],
  });
  const tool = (name: string, summary: string, input: unknown, output: string, isError = false) =>
    recorder.onSession({
      type: 'tool',
      name,
      summary,
      durationMs: 140,
      isError,
      ...({ turn: 1, input, output } as object),
    } as never);
  tool('bash', 'ls -la', { command: 'ls -la' }, extra.toolOutput ?? 'README.md\npackage.json\nsrc\n');
  tool(
    'str_replace_based_edit_tool',
    'view README.md',
    { command: 'view', path: 'README.md' },
    '1\t# widgets\n',
  );
  turn(2, 'Now I add the function.');
  tool(
    'str_replace_based_edit_tool',
    'create src/greet.ts',
    {
      command: 'create',
      path: 'src/greet.ts',
      file_text: `export function greet(name: string): string {\n  return \`Hello, \${name}!\`;\n}`,
    },
    'File created: src/greet.ts',
  );
  tool(
    'bash',
    'npm test',
    { command: 'npm test' },
    '> widgets@1.0.0 test\n> node --test\n\n# pass 3\n# fail 0\n',
  );
  const done = [
    { step: 'Read the existing code', status: 'completed' as const },
    { step: 'Add src/greet.ts with greet()', status: 'completed' as const },
    { step: 'Run the tests', status: 'completed' as const },
  ];
  recorder.onSession({ type: 'plan', items: done });
  turn(3, 'Done: greet() added and tested.');
  recorder.session(sessionResult(DEMO_PATCH, 0.0369, done));
  recorder.delivered({
    prNumber: 13,
    prUrl: 'http://twin.test/acme/widgets/pull/13',
    branch: 'pullwright/issue-12',
  });
  recorder.finish({ status: 'succeeded', prNumber: 13 });
  await recorder.flushed();
}

/**
 * Signs in through the twin's real pages: the app sends the browser to GitHub's authorize
 * URL, the twin asks for the login (and the user's token as password) and the consent,
 * then redirects back to the app's callback with a code.
 */
export async function signIn(page: Page, url: string, login: string, password: string): Promise<void> {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  if (await page.$('#login_field')) {
    await page.type('#login_field', login);
    await page.type('#password', password);
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
      page.click('[name=commit]'),
    ]);
  }
  if (await page.$('#js-oauth-authorize-btn')) {
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
      page.click('#js-oauth-authorize-btn'),
    ]);
  }
}

/**
 * Signs in over plain HTTP (benches, HTTP tests): the app's /login, the twin's authorize
 * (signed in on the twin by its session cookie, consent confirmed with its form token),
 * and the app's callback. Returns the app's session cookie.
 */
export async function httpSignIn(h: PagesHarness, login: string): Promise<string> {
  const start = await fetch(`${h.app.url}/login?next=/`, { redirect: 'manual' });
  const oauthCookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const authorize = start.headers.get('location') as string;
  const twinCookie = twinSignInCookie(h.twin.url, login);
  const cookie = `${twinCookie.name}=${twinCookie.value}`;
  let res = await fetch(authorize, { redirect: 'manual', headers: { cookie } });
  if (res.status === 200) {
    const page = await res.text();
    const token = /name="authenticity_token" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const q = new URL(authorize).searchParams;
    res = await fetch(`${h.twin.url}/login/oauth/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ...Object.fromEntries(q),
        authenticity_token: token,
        authorize: '1',
      }).toString(),
    });
  }
  const callback = res.headers.get('location') as string;
  const done = await fetch(callback, { redirect: 'manual', headers: { cookie: oauthCookie } });
  const session = (done.headers.get('set-cookie') ?? '').split(';')[0] as string;
  if (done.status !== 302 || !session.startsWith('pw_session='))
    throw new Error(`sign-in failed: ${done.status}`);
  return session;
}
