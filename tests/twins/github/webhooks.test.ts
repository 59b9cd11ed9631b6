import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verify } from '@octokit/webhooks-methods';
import { pino } from 'pino';
import { type ApplicationFunction, createNodeMiddleware, Probot } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubTwin } from './index.js';
import type { Delivery, GitHubTwin } from './types.js';
import { expectShapedLikeExample } from './webhook-examples.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let twin: GitHubTwin;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
let pr: number;
let issue: number;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = 202;
      res.end('accepted');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  twin = await startGitHubTwin({ webhookUrl: receiverUrl, webhookSecret: 'hook-secret-for-tests' });
  twin.seed.user({ login: 'alice' });
  twin.seed.user({ login: 'bob' });
  await twin.seed.repo({ owner: 'alice', name: 'hooks', files: { 'a.txt': 'a\n' } });
  twin.seed.installation({ account: 'alice' });
  twin.seed.collaborator('alice/hooks', 'bob', 'write');
  issue = twin.seed.issue({ repo: 'alice/hooks', title: 'Do it', author: 'bob' }).number;
  await twin.seed.branch({ repo: 'alice/hooks', branch: 'feat', files: { 'b.txt': 'b\n' } });
  pr = (await twin.seed.pullRequest({ repo: 'alice/hooks', head: 'feat', title: 'Feat', author: 'bob' }))
    .number;
});

afterAll(async () => {
  await twin?.close();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
});

describe('deliveries', () => {
  it('are signed, carry GitHub headers, and record the answer', async () => {
    const { delivery } = await twin.actions.assignIssue({
      repo: 'alice/hooks',
      number: issue,
      assignee: twin.app.botLogin,
      sender: 'bob',
    });
    expect(delivery).toMatchObject({
      event: 'issues',
      action: 'assigned',
      status: 202,
      responseBody: 'accepted',
    });
    const got = received.find((r) => r.headers['x-github-delivery'] === delivery.id)!;
    expect(got.body).toBe(delivery.body);
    expect(got.headers['x-github-event']).toBe('issues');
    expect(got.headers['x-github-delivery']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(got.headers['user-agent']).toMatch(/^GitHub-Hookshot\//);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-github-hook-installation-target-id']).toBe(String(twin.app.id));
    const signature = String(got.headers['x-hub-signature-256']);
    expect(await verify('hook-secret-for-tests', got.body, signature)).toBe(true);
    expect(await verify('another-secret', got.body, signature)).toBe(false);
    const payload = JSON.parse(got.body) as {
      assignee: { login: string; type: string };
      issue: { number: number };
    };
    expect(payload.assignee).toMatchObject({ login: twin.app.botLogin, type: 'Bot' });
    expect(payload.issue.number).toBe(issue);
    expect(twin.inspect.issues('alice/hooks').find((i) => i.number === issue)?.assignees).toEqual([
      twin.app.botLogin,
    ]);
  });

  it('redelivery re-sends the identical body with the same delivery id', async () => {
    const { delivery } = await twin.actions.commentOnIssue({
      repo: 'alice/hooks',
      number: issue,
      body: '@pullwright please fix',
      sender: 'bob',
    });
    const again = await twin.redeliver(delivery.id);
    expect(again).toMatchObject({ id: delivery.id, body: delivery.body, redelivery: true, status: 202 });
    const copies = received.filter((r) => r.headers['x-github-delivery'] === delivery.id);
    expect(copies).toHaveLength(2);
    expect(copies[0]?.body).toBe(copies[1]?.body);
    expect(copies[0]?.headers['x-hub-signature-256']).toBe(copies[1]?.headers['x-hub-signature-256']);
  });

  it('records a failed delivery without throwing, and follows a changed URL', async () => {
    twin.setWebhookUrl('http://127.0.0.1:1/unreachable');
    const { delivery } = await twin.actions.closeIssue({ repo: 'alice/hooks', number: issue, sender: 'bob' });
    expect(delivery.status).toBeNull();
    expect(delivery.error).toBeTruthy();
    twin.setWebhookUrl(receiverUrl);
    const again = await twin.redeliver(delivery.id);
    expect(again.status).toBe(202);
  });

  it('payloads have the top-level keys of the real examples for every event and action', async () => {
    const deliveries: Delivery[] = [];
    const add = async <T extends { delivery: Delivery }>(p: Promise<T>) => {
      const r = await p;
      deliveries.push(r.delivery);
      return r;
    };
    const opened = await add(
      twin.actions.openIssue({ repo: 'alice/hooks', title: 'New', body: 'x', sender: 'bob' }),
    );
    await add(
      twin.actions.assignIssue({
        repo: 'alice/hooks',
        number: opened.number,
        assignee: 'bob',
        sender: 'bob',
      }),
    );
    await add(
      twin.actions.unassignIssue({
        repo: 'alice/hooks',
        number: opened.number,
        assignee: 'bob',
        sender: 'bob',
      }),
    );
    await add(twin.actions.closeIssue({ repo: 'alice/hooks', number: opened.number, sender: 'bob' }));
    const comment = await add(
      twin.actions.commentOnIssue({ repo: 'alice/hooks', number: opened.number, body: 'hi', sender: 'bob' }),
    );
    await add(
      twin.actions.editComment({
        repo: 'alice/hooks',
        commentId: comment.commentId,
        body: 'hi!',
        sender: 'bob',
      }),
    );
    await add(
      twin.actions.submitReview({
        repo: 'alice/hooks',
        number: pr,
        sender: 'alice',
        state: 'CHANGES_REQUESTED',
        body: 'no',
      }),
    );
    const rc = await add(
      twin.actions.reviewComment({
        repo: 'alice/hooks',
        number: pr,
        sender: 'alice',
        body: 'here',
        path: 'b.txt',
        line: 1,
      }),
    );
    await add(
      twin.actions.reviewComment({
        repo: 'alice/hooks',
        number: pr,
        sender: 'bob',
        body: 'ok',
        inReplyTo: rc.commentId,
      }),
    );
    await add(
      twin.actions.pushFiles({
        repo: 'alice/hooks',
        branch: 'main',
        files: { 'c.txt': 'c\n' },
        sender: 'alice',
      }),
    );
    twin.seed.user({ login: 'zed' });
    await twin.seed.repo({ owner: 'zed', name: 'z1' });
    await twin.seed.repo({ owner: 'zed', name: 'z2' });
    const installed = await add(
      twin.actions.installApp({ account: 'zed', repos: ['zed/z1'], sender: 'zed' }),
    );
    await add(
      twin.actions.addRepos({ installationId: installed.installationId, repos: ['zed/z2'], sender: 'zed' }),
    );
    await add(
      twin.actions.removeRepos({
        installationId: installed.installationId,
        repos: ['zed/z1'],
        sender: 'zed',
      }),
    );
    await add(twin.actions.uninstall({ installationId: installed.installationId, sender: 'zed' }));
    await twin.settled();
    const events = deliveries.map((d) => `${d.event}.${d.action ?? ''}`);
    expect(events).toEqual([
      'issues.opened',
      'issues.assigned',
      'issues.unassigned',
      'issues.closed',
      'issue_comment.created',
      'issue_comment.edited',
      'pull_request_review.submitted',
      'pull_request_review_comment.created',
      'pull_request_review_comment.created',
      'push.',
      'installation.created',
      'installation_repositories.added',
      'installation_repositories.removed',
      'installation.deleted',
    ]);
    for (const d of deliveries) {
      expect(d.status, `${d.event}.${d.action}`).toBe(202);
      expectShapedLikeExample(d);
    }
    const edited = JSON.parse(deliveries[5]!.body) as { changes: { body: { from: string } } };
    expect(edited.changes.body.from).toBe('hi');
    const reply = JSON.parse(deliveries[8]!.body) as { comment: { in_reply_to_id: number } };
    expect(reply.comment.in_reply_to_id).toBe(rc.commentId);
    expect(twin.inspect.comments('alice/hooks', opened.number)[0]?.editCount).toBe(1);
  });
});

describe('pushFiles', () => {
  it('commits as a person, moves the PR head, and sends push then pull_request.synchronize', async () => {
    const before = twin.inspect.pull('alice/hooks', pr)!.headSha;
    const count = twin.deliveries.length;
    const { sha, delivery } = await twin.actions.pushFiles({
      repo: 'alice/hooks',
      branch: 'feat',
      files: { 'b.txt': 'b2\n', 'a.txt': null },
      message: 'Rework b',
      sender: 'bob',
    });
    expect(delivery.event).toBe('push');
    expect(JSON.parse(delivery.body)).toMatchObject({ ref: 'refs/heads/feat', before, after: sha });
    expect(twin.inspect.pull('alice/hooks', pr)?.headSha).toBe(sha);
    const sync = twin.deliveries.slice(count).find((d) => d.event === 'pull_request');
    expect(sync?.action).toBe('synchronize');
    expect(JSON.parse(sync!.body)).toMatchObject({ number: pr, before, after: sha });
    const [head] = await twin.inspect.commits('alice/hooks', 'feat');
    expect(head).toMatchObject({ sha, message: 'Rework b', authorName: 'bob' });
    expect(await twin.inspect.file('alice/hooks', 'feat', 'a.txt')).toBeNull();
    expect(twin.inspect.pushes('alice/hooks').at(-1)?.pusher).toEqual({ kind: 'user', login: 'bob' });
  });
});

describe('REST-triggered webhooks', () => {
  it('are off by default and, when on, show the app as a Bot sender of its own comment', async () => {
    const { token } = twin.createInstallationToken(1);
    const count = twin.deliveries.length;
    const post = (t: GitHubTwin) =>
      fetch(`${t.url}/repos/alice/hooks/issues/${issue}/comments`, {
        method: 'POST',
        headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ body: 'Working on it' }),
      });
    expect((await post(twin)).status).toBe(201);
    await twin.settled();
    expect(twin.deliveries.length).toBe(count);

    const loud = await startGitHubTwin({ webhookUrl: receiverUrl, restWebhooks: true });
    try {
      loud.seed.user({ login: 'alice' });
      await loud.seed.repo({ owner: 'alice', name: 'hooks' });
      const inst = loud.seed.installation({ account: 'alice' }).id;
      loud.seed.issue({ repo: 'alice/hooks', title: 'x', author: 'alice' });
      const res = await fetch(`${loud.url}/repos/alice/hooks/issues/1/comments`, {
        method: 'POST',
        headers: {
          authorization: `token ${loud.createInstallationToken(inst).token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ body: 'Working on it' }),
      });
      expect(res.status).toBe(201);
      await loud.settled();
      const d = loud.deliveries.find((x) => x.event === 'issue_comment');
      expect(d?.action).toBe('created');
      expect(d?.status).toBe(202);
      const payload = JSON.parse(d!.body) as {
        sender: { login: string; type: string };
        comment: { body: string };
      };
      expect(payload.sender).toMatchObject({ login: loud.app.botLogin, type: 'Bot' });
      expect(payload.comment.body).toBe('Working on it');
      expectShapedLikeExample(d!);
    } finally {
      await loud.close();
    }
  });
});

describe('Probot against the twin', () => {
  it('receives a signed delivery and answers through the twin REST API with an installation token', async () => {
    const probot = new Probot({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      secret: twin.app.webhookSecret,
      baseUrl: twin.url,
      log: pino({ level: 'silent' }),
    });
    const appFn: ApplicationFunction = (app) => {
      app.on('issue_comment.created', async (context) => {
        await context.octokit.rest.reactions.createForIssueComment(
          context.repo({ comment_id: context.payload.comment.id, content: 'eyes' }),
        );
        await context.octokit.rest.issues.createComment(context.issue({ body: 'On it.' }));
      });
    };
    const middleware = await createNodeMiddleware(appFn, { probot, webhooksPath: '/api/github/webhooks' });
    const server = createServer((req, res) => {
      void middleware(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      twin.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`);
      const { commentId, delivery } = await twin.actions.commentOnIssue({
        repo: 'alice/hooks',
        number: issue,
        body: '@pullwright go',
        sender: 'bob',
      });
      expect(delivery.status).toBe(200);
      const reaction = twin.inspect
        .reactions('alice/hooks')
        .find((r) => r.subject === 'issue_comment' && r.subjectId === commentId);
      expect(reaction).toMatchObject({ content: 'eyes', user: twin.app.botLogin });
      const answers = twin.inspect
        .comments('alice/hooks', issue)
        .filter((c) => c.author === twin.app.botLogin);
      expect(answers.map((c) => c.body)).toContain('On it.');
      // A forged delivery (bad signature) is refused by Probot: the twin's signature is what it checks.
      const forged = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'issue_comment',
            'x-github-delivery': 'forged',
            'x-hub-signature-256': 'sha256=0000',
          },
          body: delivery.body,
        },
      );
      expect(forged.status).toBeGreaterThanOrEqual(400);
    } finally {
      twin.setWebhookUrl(receiverUrl);
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
