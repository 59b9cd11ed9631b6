import { resolveRef } from './git.js';
import { commitDetails, countRange, mergeBase } from './git-ci.js';
import { notFound } from './http.js';
import { ciSer } from './records-ci.js';
import { paginate, pullParam, R, type RouteKit } from './router.js';

/** Commits: compare two refs (ahead/behind from real git), a pull request's commits, a commit's pull requests. */
export function registerCommitRoutes({ core, auth, on }: RouteKit): void {
  const { state } = core;
  const contents = { perm: 'contents', level: 'read' } as const;

  on('GET', `/repos/${R}/${R}/compare/(.+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, contents);
    const spec = decodeURIComponent(ctx.params[2] ?? '');
    const i = spec.indexOf('...');
    if (i < 0) throw notFound();
    const [base, head] = await Promise.all([
      resolveRef(repo.gitDir, spec.slice(0, i)),
      resolveRef(repo.gitDir, spec.slice(i + 3)),
    ]);
    if (!base || !head) throw notFound();
    const mb = await mergeBase(repo.gitDir, base, head);
    if (!mb) throw notFound();
    const [ahead, behind] = await Promise.all([
      countRange(repo.gitDir, `${base}..${head}`),
      countRange(repo.gitDir, `${head}..${base}`),
    ]);
    const status = ahead && behind ? 'diverged' : ahead ? 'ahead' : behind ? 'behind' : 'identical';
    const [baseCommit] = await commitDetails(repo.gitDir, ['-1', base]);
    const [mbCommit] = await commitDetails(repo.gitDir, ['-1', mb]);
    // GitHub lists up to 250 commits of the comparison, paged by per_page/page.
    const commits = ahead ? await commitDetails(repo.gitDir, [`${base}..${head}`]) : [];
    const page = paginate(ctx, core.config.url, commits);
    const s = ciSer(core);
    const html = `${core.config.url}/${repo.fullName}/compare/${spec}`;
    return {
      status: 200,
      json: {
        url: `${core.config.url}/repos/${repo.fullName}/compare/${spec}`,
        html_url: html,
        permalink_url: html,
        diff_url: `${html}.diff`,
        patch_url: `${html}.patch`,
        base_commit: s.commit(repo, baseCommit!),
        merge_base_commit: s.commit(repo, mbCommit!),
        status,
        ahead_by: ahead,
        behind_by: behind,
        total_commits: ahead,
        commits: page.items.map((c) => s.commit(repo, c)),
        files: [],
      },
      headers: page.headers,
    };
  });

  on('GET', `/repos/${R}/${R}/pulls/(\\d+)/commits`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'read' });
    const issue = pullParam(state, ctx, repo, 2);
    const p = issue.pull!;
    const commits = await commitDetails(repo.gitDir, [`${p.baseSha}..${p.headSha}`], 250);
    const page = paginate(ctx, core.config.url, commits);
    return { status: 200, json: page.items.map((c) => ciSer(core).commit(repo, c)), headers: page.headers };
  });

  on('GET', `/repos/${R}/${R}/commits/([0-9a-fA-F]{4,40})/pulls`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'pull_requests', level: 'read' });
    const sha = await resolveRef(repo.gitDir, ctx.params[2]!);
    if (!sha) throw notFound(`No commit found for SHA: ${ctx.params[2]}`);
    // The open pull requests whose head contains the commit, newest first, then merged ones.
    const pulls = [];
    for (const i of [...state.issuesOf(repo).values()].reverse()) {
      if (!i.pull || i.pull.headRepoId !== null) continue;
      // In the head's history but not already in its base (a base commit is in every PR's history).
      const inHead = i.pull.headSha === sha || (await mergeBase(repo.gitDir, sha, i.pull.headSha)) === sha;
      const contains = inHead && (await mergeBase(repo.gitDir, sha, i.pull.baseSha)) !== sha;
      if (contains) pulls.push(i);
    }
    const page = paginate(ctx, core.config.url, pulls);
    return { status: 200, json: page.items.map((i) => core.ser.pull(repo, i, null)), headers: page.headers };
  });
}
