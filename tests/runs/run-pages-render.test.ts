import { describe, expect, it } from 'vitest';
import { escapeHtml, html, safeHref } from '../../src/runs/html.js';
import { renderRunPage } from '../../src/runs/render-run-page.js';
import { renderRunsList } from '../../src/runs/render-runs-list.js';
import type { RunEvent, RunMeta } from '../../src/runs/run-event.js';
import { safeNext } from '../../src/runs/run-pages.js';

const P = (f: string) => `<script>alert('${f}')</script><img src=x onerror=alert('${f}')>"'\`&`;

function meta(over: Partial<RunMeta> = {}): RunMeta {
  return {
    id: 'r_abcdefghijklmnopqrst',
    jobId: 'job',
    installationId: 1,
    repo: 'acme/widgets',
    kind: 'implement',
    number: 3,
    title: P('title'),
    requester: P('requester'),
    state: 'finished',
    outcome: 'failed',
    reason: P('reason'),
    startedAt: 0,
    endedAt: 1000,
    costUsd: 0.5,
    inputTokens: 10,
    outputTokens: 5,
    turns: 1,
    bytes: 0,
    omitted: 0,
    issueUrl: 'javascript:alert(1)',
    prUrl: 'https://github.com/acme/widgets/pull/4',
    prNumber: 4,
    trackingCommentUrl: null,
    ...over,
  };
}

const events: RunEvent[] = [
  {
    seq: 1,
    at: 0,
    t: 'started',
    kind: 'implement',
    repo: 'acme/widgets',
    number: 3,
    requester: P('req'),
    source: 'assignment',
    title: P('title'),
    instruction: P('instruction'),
  },
  { seq: 2, at: 0, t: 'plan', items: [{ step: P('plan'), status: 'completed' }] },
  {
    seq: 3,
    at: 0,
    t: 'tool',
    name: 'bash',
    summary: P('summary'),
    durationMs: 1,
    isError: false,
    input: JSON.stringify({ command: P('command') }),
    output: P('output'),
  },
  {
    seq: 4,
    at: 0,
    t: 'tool',
    name: 'str_replace_based_edit_tool',
    summary: 's',
    durationMs: 1,
    isError: false,
    input: JSON.stringify({ command: 'str_replace', path: P('path'), old_str: P('old'), new_str: P('new') }),
    output: 'ok',
  },
  {
    seq: 9,
    at: 0,
    t: 'turn',
    turn: 1,
    usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
    costUsd: 0,
    text: P('model'),
    model: P('modelname'),
  },
  { seq: 10, at: 0, t: 'note', kind: 'review', title: P('note'), detail: P('detail'), isError: true },
  { seq: 11, at: 0, t: 'verify', results: [{ command: P('verify'), exitCode: 1, output: P('verifyout') }] },
  { seq: 12, at: 0, t: 'blocked', hosts: [P('host')] },
  {
    seq: 13,
    at: 0,
    t: 'diff',
    patch: `diff --git a/${P('file')} b/x\n+${P('diffline')}`,
    files: 1,
    additions: 1,
    deletions: 0,
    paths: [P('file')],
    truncated: false,
  },
  { seq: 14, at: 0, t: 'delivered', prNumber: 4, prUrl: null, branch: P('branch') },
  { seq: 15, at: 0, t: 'outcome', status: 'failed', reason: P('reason'), costUsd: 0.5, turns: 1 },
];

describe('run page rendering', () => {
  it('escapes every value of a run: no markup from a run survives', () => {
    const page = renderRunPage({
      record: { meta: meta(), events, lastStreamId: '' },
      viewer: { login: P('viewer') },
      canStop: false,
      stopCsrf: 'a',
      logoutCsrf: 'b',
    });
    expect(page).not.toMatch(/<script>alert/);
    expect(page).not.toMatch(/<img/);
    expect(page).not.toMatch(/<[^>]*onerror/);
    expect(page).not.toContain('javascript:');
    for (const f of [
      'title',
      'instruction',
      'plan',
      'command',
      'output',
      'path',
      'old',
      'new',
      'model',
      'note',
      'detail',
      'verify',
      'verifyout',
      'host',
      'diffline',
      'branch',
      'reason',
      'viewer',
    ])
      expect(page, f).toContain(`&lt;script&gt;alert(&#39;${f}&#39;)&lt;/script&gt;`);
    // The only script is our file; nothing inline.
    expect(page.match(/<script[^>]*>/g)).toEqual(['<script src="/runs-assets/run-page.js">']);
    // The cap's gap between seq 4 and 9 is shown.
    expect(page).toContain('4 entries omitted here');
  });

  it('shows the Stop form only to a writer of a running run, with its token', () => {
    const running = { meta: meta({ state: 'running', outcome: null }), events, lastStreamId: '5-0' };
    const writer = renderRunPage({
      record: running,
      viewer: { login: 'w' },
      canStop: true,
      stopCsrf: 'tok123',
      logoutCsrf: 'b',
    });
    expect(writer).toContain('action="/runs/r_abcdefghijklmnopqrst/stop"');
    expect(writer).toContain('name="csrf" value="tok123"');
    expect(writer).toContain('data-after="5-0"');
    expect(
      renderRunPage({
        record: running,
        viewer: { login: 'r' },
        canStop: false,
        stopCsrf: 'x',
        logoutCsrf: 'b',
      }),
    ).not.toContain('/stop');
  });

  it('escapes the runs list as well', () => {
    const page = renderRunsList({
      repo: 'acme/widgets',
      runs: [meta()],
      month: '2026-12',
      repoTotals: { runs: 1, inputTokens: 1, outputTokens: 1, costUsd: 1.5 },
      installationTotals: { runs: 1, inputTokens: 1, outputTokens: 1, costUsd: 2 },
      budgetUsd: 10,
      viewer: { login: 'v' },
      csrf: 'c',
    });
    expect(page).not.toMatch(/<script>alert/);
    expect(page).toContain('$1.50');
    expect(page).toContain('$2.00 of $10.00');
  });

  it('has one escaping path and safe links', () => {
    expect(escapeHtml(`<a href="x">'&\``)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#96;');
    expect(html`<p>${'<b>'}</p>`.value).toBe('<p>&lt;b&gt;</p>');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,x')).toBeNull();
    expect(safeHref('https://github.com/x')).toBe('https://github.com/x');
  });

  it('sends people back only to a local path after sign-in', () => {
    expect(safeNext('/runs/r_1')).toBe('/runs/r_1');
    for (const bad of ['//evil.com', 'https://evil.com', '/\\evil.com', 'javascript:x', '', null, '/a\nb'])
      expect(safeNext(bad)).toBe('/');
  });
});
