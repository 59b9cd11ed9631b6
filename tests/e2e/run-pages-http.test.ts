import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics, setModelCost } from '../../src/metrics/metrics.js';
import { httpSignIn, type PagesHarness, recordDemoRun, startPagesHarness } from '../runs/pages-harness.js';

/** The run pages over HTTP (the app server, the twin's OAuth, Redis): headers, cookies, costs in /metrics. */
let h: PagesHarness;

beforeAll(async () => {
  h = await startPagesHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('run pages over HTTP', () => {
  it('signs in with state and PKCE, and sets a signed HttpOnly SameSite session cookie', async () => {
    const start = await fetch(`${h.app.url}/login?next=//evil.example/x`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location') as string);
    expect(authorize.origin).toBe(new URL(h.twin.url).origin);
    expect(authorize.pathname).toBe('/login/oauth/authorize');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(start.headers.get('set-cookie')).toMatch(
      /^pw_oauth=[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );
    // A callback without the browser's state cookie (login CSRF) is refused.
    const forged = await fetch(
      `${h.app.url}/auth/callback?code=abc&state=${authorize.searchParams.get('state')}`,
      { redirect: 'manual' },
    );
    expect(forged.status).toBe(400);
    expect(forged.headers.get('set-cookie') ?? '').not.toContain('pw_session');
    const cookie = await httpSignIn(h, 'bob');
    expect(cookie).toMatch(/^pw_session=[\w-]+\.[\w-]+$/);
  });

  it('serves pages with a strict CSP and no-store, and counts model cost in /metrics', async () => {
    const recorder = h.recorder();
    await recordDemoRun(recorder);
    const cookie = await httpSignIn(h, 'alice');
    const page = await fetch(`${h.app.url}/runs/${recorder.runId}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('server-timing')).toMatch(/^app;dur=/);
    const metrics = await (await fetch(`${h.app.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `pullwright_model_cost_usd_total\\{installation="${h.installationId}",repo="acme/widgets"\\} 0\\.0369`,
      ),
    );
  });

  it('takes access changed on GitHub into account once the short cache expires', async () => {
    h.twin.seed.user({ login: 'walt' });
    h.twin.seed.collaborator('acme/widgets', 'walt', 'write');
    const recorder = h.recorder();
    recorder.started({ title: 'still running' });
    await recorder.flushed();
    const cookie = await httpSignIn(h, 'walt');
    const url = `${h.app.url}/runs/${recorder.runId}`;
    const before = await (await fetch(url, { headers: { cookie } })).text();
    expect(before).toContain('id="stop"');
    const csrf = /name="csrf" value="([^"]+)"><button class="danger"/.exec(before)?.[1] ?? '';
    // Walt is downgraded to read on GitHub: after the cache (1 s in this harness), no Stop and a refused stop.
    h.twin.seed.collaborator('acme/widgets', 'walt', 'read');
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await (await fetch(url, { headers: { cookie } })).text()).not.toContain('id="stop"');
    const stop = await fetch(`${url}/stop`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf=${encodeURIComponent(csrf)}`,
    });
    expect(stop.status).toBe(403);
    recorder.finish({ status: 'cancelled' });
    await recorder.flushed();
  });

  it('exports one cost series unless repo labels are enabled', () => {
    const costs = [
      { installationId: '1', repo: 'a/b', costUsd: 1.25 },
      { installationId: '2', repo: 'c/d', costUsd: 0.5 },
    ];
    const plain = new Metrics();
    setModelCost(plain, costs, false);
    expect(plain.render()).toContain('\npullwright_model_cost_usd_total 1.75\n');
    expect(plain.render()).not.toContain('repo="a/b"');
    const labelled = new Metrics();
    setModelCost(labelled, costs, true);
    expect(labelled.render()).toContain('pullwright_model_cost_usd_total{installation="1",repo="a/b"} 1.25');
  });
});
