import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import { runFlow } from '../../worker/flows/run-flow.js';
import { renderTrackingComment, trackingMarker } from '../../worker/flows/tracking-comment.js';
import { agentResult, createHarness, implementTask, silent } from './fakes.js';

const md = new MarkdownIt({ html: true, linkify: true });

describe('tracking comment with model- and repository-chosen text', () => {
  it('renders the title, step, plan, hosts and verify commands inert', () => {
    const body = renderTrackingComment('o/r#7', {
      title: 'implementing #7 for @alice',
      status: 'running',
      phase: 'agent',
      step: 'bash: curl https://evil/x <img src="https://evil/p.png">',
      plan: [
        { step: 'Ping @org/team\n## Verification\n- [x] done', status: 'in_progress' },
        {
          step: `<!-- pullwright:tracking o/r#8 --> closes octo/other#2 ![t](https://evil/t.png)`,
          status: 'pending',
        },
      ],
      verify: [{ command: 'npm test`\n## Forged @org/team', ok: true }],
      blockedHosts: ['www.evil.example', '@org/team'],
    });
    const html = md.render(body);
    // GitHub pings no one from inside code; everywhere else the mention is broken.
    expect(html.replace(/<code>[^<]*<\/code>/g, '')).not.toMatch(/@(org|alice)\b/);
    expect(html).not.toMatch(/<img|<a |href=/);
    expect(html.match(/<h\d>/g)).toHaveLength(1);
    expect(body.match(/<!--/g)).toHaveLength(1);
    expect(body.startsWith(trackingMarker('o/r#7'))).toBe(true);
    expect(body).toContain('closes `octo/other#2`');
    // Each plan item stays one list item.
    expect(html.match(/<li>/g)).toHaveLength(3);
  });

  it("does not let a refused path's name ping a team", async () => {
    const h = createHarness();
    h.setPatch(
      [
        'diff --git a/.github/@octo/team.yml b/.github/@octo/team.yml',
        'new file mode 100644',
        '--- /dev/null',
        '+++ b/.github/@octo/team.yml',
        '@@ -0,0 +1 @@',
        '+x',
        '',
      ].join('\n'),
    );
    const outcome = await runFlow({
      task: implementTask(),
      jobId: 'job-1',
      deps: h.deps,
      signal: new AbortController().signal,
      log: silent,
      finalAttempt: true,
    });
    expect(outcome.status).toBe('refused');
    const body = h.github.comments[0]?.body ?? '';
    expect(body).toContain('.github/@\u200bocto/team.yml');
    expect(body).not.toContain('@octo');
  });
});

describe('thread replies written by the model', () => {
  it('are posted inert: no mention, image, link or closing keyword', async () => {
    const h = createHarness();
    h.github.branches.set('feature', 'head111');
    h.github.pulls.push({
      number: 20,
      title: 'Feature',
      body: '',
      state: 'open',
      merged: false,
      draft: false,
      htmlUrl: 'https://twin/pull/20',
      headRef: 'feature',
      headSha: 'head111',
      headRepoFullName: 'o/r',
      baseRef: 'main',
      baseSha: 'base000',
      mergeable: true,
      mergeableState: 'clean',
      labels: [],
    });
    h.github.threads = [
      {
        id: 't1',
        isResolved: false,
        isOutdated: false,
        path: 'src/add.js',
        line: 1,
        diffHunk: '@@',
        comments: [{ databaseId: 501, author: 'alice', body: 'wrong op', createdAt: '' }],
      },
    ];
    h.setAgent(
      agentResult({
        threadReplies: [
          {
            thread: 1,
            reply: 'Done @org/team ![p](https://evil/p.png) <img src=x> fixes octo/other#2 https://evil',
          },
        ],
      }),
    );
    await runFlow({
      task: implementTask({ kind: 'address-review', number: 20 }),
      jobId: 'job-1',
      deps: h.deps,
      signal: new AbortController().signal,
      log: silent,
      finalAttempt: true,
    });
    const reply = h.github.replies[0]?.body ?? '';
    expect(reply).toContain('Done @\u200borg/team');
    const html = md.render(reply);
    expect(html).not.toMatch(/<img|<a |href=/);
    expect(reply).toContain('fixes `octo/other#2`');
  });
});
