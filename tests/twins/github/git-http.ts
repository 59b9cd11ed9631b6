import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TwinAuth } from './auth.js';
import { fetchRefs, gitLog, listBranches, serveGitHttp, ZERO_SHA } from './git.js';
import { type Auth, type Ctx, nowIso, PERMISSION_RANK } from './http.js';
import type { IssueRec, RepoRec } from './state.js';
import type { TwinCore } from './twin-core.js';
import type { Delivery, PushRecord } from './types.js';

/** `/{owner}/{repo}.git/…`: git's smart HTTP protocol, with GitHub's credentials and permissions. */
export const GIT_PATH = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack|HEAD)$/;

function gitRefusal(res: ServerResponse, status: 401 | 403 | 404, message: string): number {
  res.statusCode = status;
  if (status === 401) {
    res.setHeader('www-authenticate', 'Basic realm="GitHub"');
    res.setHeader('content-type', 'text/plain; charset=utf-8');
  }
  res.end(`${message}\n`);
  return status;
}

/** Open pull requests of the repository whose head is `branch` of that repository. */
function pullsOnBranch(core: TwinCore, repo: RepoRec, branch: string): IssueRec[] {
  return [...core.state.issuesOf(repo).values()].filter(
    (i) => i.pull && i.state === 'open' && i.pull.headRepoId === null && i.pull.head === branch,
  );
}

/** `pull_request.synchronize` on the repository the pull request belongs to (the parent, for a fork's head). */
async function sendSynchronize(
  core: TwinCore,
  repo: RepoRec,
  pr: IssueRec,
  before: string,
  after: string,
  sender: string,
): Promise<void> {
  await core.sendEvent(
    'pull_request',
    { action: 'synchronize', number: pr.number, before, after, pull_request: await core.fullPull(repo, pr) },
    { repo, sender },
  );
}

/**
 * The webhooks a branch move sends, as GitHub sends them: `push`, then `pull_request.synchronize` for each
 * open pull request on the branch. Answers the push delivery.
 */
export async function sendPushEvents(
  core: TwinCore,
  repo: RepoRec,
  branch: string,
  before: string,
  after: string,
  sender: string,
): Promise<Delivery> {
  const url = core.config.url;
  const commits =
    after === ZERO_SHA
      ? []
      : (await gitLog(repo.gitDir, before === ZERO_SHA ? after : `${before}..${after}`)).reverse();
  const toCommit = (c: (typeof commits)[number]) => ({
    id: c.sha,
    tree_id: ZERO_SHA,
    distinct: true,
    message: c.message,
    timestamp: nowIso(),
    url: `${url}/${repo.fullName}/commit/${c.sha}`,
    author: { name: c.authorName, email: c.authorEmail, username: c.authorName },
    committer: { name: c.committerName, email: c.authorEmail, username: c.committerName },
    added: [],
    removed: [],
    modified: [],
  });
  const last = commits[commits.length - 1];
  const delivery = await core.sendEvent(
    'push',
    {
      ref: `refs/heads/${branch}`,
      before,
      after,
      pusher: { name: sender, email: `${sender}@users.noreply.twin` },
      created: before === ZERO_SHA,
      deleted: after === ZERO_SHA,
      forced: false,
      base_ref: null,
      compare: `${url}/${repo.fullName}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
      commits: commits.map(toCommit),
      head_commit: last ? toCommit(last) : null,
    },
    { repo, sender: core.state.findUser(sender)?.login ?? sender },
  );
  if (after === ZERO_SHA) return delivery;
  for (const pr of pullsOnBranch(core, repo, branch))
    await sendSynchronize(core, repo, pr, before, after, sender);
  return delivery;
}

/** Records a push as GitHub's audit does: who moved which ref from where to where. */
export function recordPush(
  core: TwinCore,
  repo: RepoRec,
  branch: string,
  before: string,
  after: string,
  pusher: PushRecord['pusher'],
): void {
  const at = nowIso();
  repo.pushedAt = at;
  core.pushes.push({ repo: repo.fullName, ref: `refs/heads/${branch}`, before, after, pusher, at });
}

/**
 * A push to a fork moves the pull requests it heads on the parent repository, as on GitHub: the parent
 * gets the commits under `refs/pull/N/head` and sends `pull_request.synchronize` through its own installation.
 */
async function moveForkPulls(core: TwinCore, fork: RepoRec, branch: string, before: string, after: string) {
  const parent = fork.forkOf === null ? undefined : core.state.repoById(fork.forkOf);
  if (!parent || after === ZERO_SHA) return [];
  const moved = [...core.state.issuesOf(parent).values()].filter(
    (i) => i.pull && i.state === 'open' && i.pull.headRepoId === fork.id && i.pull.head === branch,
  );
  if (moved.length === 0) return [];
  await core.withRepoLock(parent, async () => {
    for (const i of moved) {
      await fetchRefs(parent.gitDir, fork.gitDir, [`+${after}:refs/pull/${i.number}/head`]);
      i.pull!.headSha = after;
      i.updatedAt = fork.pushedAt;
    }
  });
  return moved.map((pr) => (sender: string) => sendSynchronize(core, parent, pr, before, after, sender));
}

/** Moves PR heads and bases after refs moved, then sends the push webhooks in the background. */
async function afterPush(
  core: TwinCore,
  repo: RepoRec,
  before: Record<string, string>,
  after: Record<string, string>,
  pusher: PushRecord['pusher'],
) {
  const moved: { branch: string; b: string; a: string }[] = [];
  const forkEvents: ((sender: string) => Promise<void>)[] = [];
  for (const branch of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[branch] ?? ZERO_SHA;
    const a = after[branch] ?? ZERO_SHA;
    if (a === b) continue;
    recordPush(core, repo, branch, b, a, pusher);
    moved.push({ branch, b, a });
    if (a === ZERO_SHA) continue;
    for (const i of pullsOnBranch(core, repo, branch)) {
      i.pull!.headSha = a;
      i.updatedAt = repo.pushedAt;
    }
    for (const i of core.state.issuesOf(repo).values()) {
      if (i.pull && i.state === 'open' && i.pull.base === branch) i.pull.baseSha = a;
    }
    forkEvents.push(...(await moveForkPulls(core, repo, branch, b, a)));
  }
  // CI starts after the push webhooks went out, as on GitHub (a workflow run follows its push event).
  const startCi = () => {
    for (const m of moved) if (m.a !== ZERO_SHA) core.pushed(repo, m.branch, m.b, m.a, pusher.login);
  };
  if (!core.config.pushWebhooks) return startCi();
  // Deliveries run in the background (GitHub sends them asynchronously); twin.settled() awaits them.
  core.sendLater(async () => {
    for (const m of moved) await sendPushEvents(core, repo, m.branch, m.b, m.a, pusher.login).catch(() => {});
    for (const send of forkEvents) await send(pusher.login).catch(() => {});
    startCi();
  });
}

export async function handleGit(
  core: TwinCore,
  auth: TwinAuth,
  req: IncomingMessage,
  res: ServerResponse,
  u: URL,
  m: RegExpExecArray,
  ctx: Pick<Ctx, 'record'> & { auth: Auth },
): Promise<number> {
  const [, owner, name, service] = m as unknown as [string, string, string, string];
  const repo = core.state.findRepo(`${owner}/${name}`);
  const botLogin = core.config.botLogin;
  const isPush =
    service === 'git-receive-pack' ||
    (service === 'info/refs' && u.searchParams.get('service') === 'git-receive-pack');
  const caller = ctx.auth;
  if (caller.kind === 'invalid' || caller.kind === 'jwt')
    return gitRefusal(res, 401, 'Invalid username or token.');
  let pusher: PushRecord['pusher'] | null = null;
  if (caller.kind === 'none') {
    if (!repo || repo.private || isPush) return gitRefusal(res, 401, 'Authentication required.');
  } else if (caller.kind === 'installation') {
    if (!auth.inScope(ctx, caller.rec, repo)) return gitRefusal(res, 404, 'Repository not found.');
    if (isPush && caller.rec.permissions.contents !== 'write') {
      return gitRefusal(res, 403, `Permission to ${repo.fullName}.git denied to ${botLogin}.`);
    }
    pusher = { kind: 'installation', installationId: caller.rec.installationId, login: botLogin };
  } else {
    ctx.record.login = caller.user.login;
    const perm = repo ? core.state.permissionOf(repo, caller.user.login) : 'none';
    if (!repo || perm === 'none') return gitRefusal(res, 404, 'Repository not found.');
    if (isPush && PERMISSION_RANK[perm] < PERMISSION_RANK.write) {
      return gitRefusal(res, 403, `Permission to ${repo.fullName}.git denied to ${caller.user.login}.`);
    }
    pusher = { kind: 'user', login: caller.user.login };
  }
  const target = repo!;
  const serve = () =>
    serveGitHttp(req, res, {
      projectRoot: core.config.reposRoot,
      pathInfo: `/${target.owner.toLowerCase()}/${target.name.toLowerCase()}.git/${service}`,
      query: u.search.slice(1),
      remoteUser: pusher?.login ?? 'anonymous',
    });
  if (service === 'git-receive-pack' && req.method === 'POST') {
    return core.withRepoLock(target, async () => {
      const before = await listBranches(target.gitDir);
      const status = await serve();
      await afterPush(core, target, before, await listBranches(target.gitDir), pusher!);
      res.end();
      return status;
    });
  }
  const status = await serve();
  res.end();
  return status;
}
