import { resolveRef } from './git.js';
import { type Ctx, forbidden, type HttpError, notFound, str, validation } from './http.js';
import {
  afterCompleted,
  type CheckRunInput,
  changeCheckRun,
  ciSer,
  ensureSuite,
  headOf,
  newCheckRun,
} from './records-ci.js';
import { paginate, R, type RouteKit } from './router.js';
import type { Json } from './serialize.js';
import type { RepoRec } from './state.js';
import type { AnnotationRec, CheckRunRec, CheckStatus, Conclusion } from './state-ci.js';

/** Check runs (create, update, read, annotations, list for a ref) and check suites for a ref. */

const STATUSES = ['queued', 'in_progress', 'completed'];
const CONCLUSIONS = ['success', 'failure', 'neutral', 'cancelled', 'skipped', 'timed_out', 'action_required'];
const LEVELS = ['notice', 'warning', 'failure'];
export const MAX_OUTPUT_CHARS = 65_535;

function invalid(field: string, message?: string): HttpError {
  return validation([{ resource: 'CheckRun', field, code: 'invalid', ...(message ? { message } : {}) }]);
}

/** The body of a create or update, validated as GitHub validates it (422 on each bad field). */
function parseCheckBody(
  body: Json,
  creating: boolean,
): Omit<CheckRunInput, 'headSha'> & { headSha?: string } {
  const out: Omit<CheckRunInput, 'headSha'> & { headSha?: string } = { name: '' };
  const name = str(body.name);
  if (creating && !name) throw validation([{ resource: 'CheckRun', field: 'name', code: 'missing_field' }]);
  if (name !== undefined) out.name = name;
  else delete (out as { name?: string }).name;
  if (creating) {
    const sha = str(body.head_sha);
    if (!sha) throw validation([{ resource: 'CheckRun', field: 'head_sha', code: 'missing_field' }]);
    out.headSha = sha;
  }
  if (body.status !== undefined) {
    if (!STATUSES.includes(String(body.status))) throw invalid('status');
    out.status = body.status as CheckStatus;
  }
  if (body.conclusion !== undefined && body.conclusion !== null) {
    if (!CONCLUSIONS.includes(String(body.conclusion))) throw invalid('conclusion');
    out.conclusion = body.conclusion as Conclusion;
  }
  if (out.status === 'completed' && !out.conclusion)
    throw invalid('conclusion', 'Conclusion is required when status is completed');
  for (const [k, f] of [
    ['details_url', 'detailsUrl'],
    ['external_id', 'externalId'],
    ['started_at', 'startedAt'],
    ['completed_at', 'completedAt'],
  ] as const) {
    if (body[k] !== undefined) out[f] = str(body[k]) ?? null;
  }
  const output = body.output as Json | undefined;
  if (output !== undefined) {
    if (typeof output !== 'object' || output === null || !str(output.title) || !str(output.summary)) {
      throw invalid('output', 'output needs a title and a summary');
    }
    // GitHub's limits: 65535 characters each for the summary and the text.
    for (const field of ['summary', 'text'] as const) {
      const v = str(output[field]);
      if (v !== undefined && v.length > MAX_OUTPUT_CHARS) {
        throw invalid(
          `output.${field}`,
          `Only ${MAX_OUTPUT_CHARS} characters are allowed; ${v.length} were supplied.`,
        );
      }
    }
    out.output = { title: str(output.title), summary: str(output.summary), text: str(output.text) ?? null };
    const list = output.annotations;
    if (list !== undefined) {
      if (!Array.isArray(list) || list.length > 50)
        throw invalid('annotations', 'At most 50 annotations per request');
      out.annotations = list.map((a: Json): AnnotationRec => {
        const level = String(a.annotation_level);
        if (
          !str(a.path) ||
          typeof a.start_line !== 'number' ||
          typeof a.end_line !== 'number' ||
          !LEVELS.includes(level) ||
          !str(a.message)
        ) {
          throw invalid('annotations');
        }
        return {
          path: String(a.path),
          startLine: a.start_line,
          endLine: a.end_line,
          level: level as AnnotationRec['level'],
          message: String(a.message),
          title: str(a.title) ?? null,
          rawDetails: str(a.raw_details) ?? null,
        };
      });
    }
  }
  return out;
}

export function registerCheckRoutes({ core, auth, on }: RouteKit): void {
  const { state } = core;
  const read = { perm: 'checks', level: 'read' } as const;
  const write = { perm: 'checks', level: 'write' } as const;

  /** Only a GitHub App creates or changes check runs: a person's token is refused, as on GitHub. */
  const appOnly = (ctx: Ctx) => {
    if (ctx.auth.kind === 'user') throw forbidden('You must authenticate via a GitHub App.');
  };
  const runParam = (ctx: Ctx, repo: RepoRec): CheckRunRec => {
    const run = state.ci.checkRuns.get(Number(ctx.params[2]));
    if (!run || run.repoId !== repo.id) throw notFound();
    return run;
  };
  const refParam = async (ctx: Ctx, repo: RepoRec): Promise<string> => {
    const sha = await resolveRef(repo.gitDir, decodeURIComponent(ctx.params[2] ?? ''));
    if (!sha)
      throw validation(
        [{ resource: 'Commit', field: 'ref', code: 'invalid' }],
        `No commit found for SHA: ${ctx.params[2]}`,
      );
    return sha;
  };

  on('POST', `/repos/${R}/${R}/check-runs`, async (ctx) => {
    appOnly(ctx);
    const repo = auth.repoAccess(ctx, write);
    const input = parseCheckBody(await ctx.body(), true);
    const sha = await resolveRef(repo.gitDir, input.headSha!);
    if (!sha || sha !== input.headSha)
      throw validation(
        [{ resource: 'CheckRun', field: 'head_sha', code: 'invalid' }],
        `No commit found for SHA: ${input.headSha}`,
      );
    const branch =
      [...state.issuesOf(repo).values()].find((i) => i.pull?.headSha === sha)?.pull?.head ?? null;
    const suite = ensureSuite(core, repo, sha, 'app', branch);
    const run = newCheckRun(core, repo, suite, { ...input, headSha: sha });
    const sender = auth.actorLogin(ctx.auth);
    core.restEvent('check_run', repo, sender, () => ({
      action: 'created',
      check_run: ciSer(core).checkRun(repo, run),
    }));
    if (run.status === 'completed' && core.config.restWebhooks)
      core.sendLater(() => afterCompleted(core, repo, run, sender));
    return { status: 201, json: ciSer(core).checkRun(repo, run) };
  });

  on('GET', `/repos/${R}/${R}/check-runs/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, read);
    return { status: 200, json: ciSer(core).checkRun(repo, runParam(ctx, repo)) };
  });

  on('PATCH', `/repos/${R}/${R}/check-runs/(\\d+)`, async (ctx) => {
    appOnly(ctx);
    const repo = auth.repoAccess(ctx, write);
    const run = runParam(ctx, repo);
    // A check run belongs to the app that created it; another app's run is not yours to change.
    if (run.app !== 'app')
      throw forbidden(
        'Invalid app_id `1` - check run can only be modified by the GitHub App that created it.',
      );
    const change = parseCheckBody(await ctx.body(), false);
    const completed = changeCheckRun(run, change);
    if (completed && core.config.restWebhooks) {
      const sender = auth.actorLogin(ctx.auth);
      core.sendLater(() => afterCompleted(core, repo, run, sender));
    }
    return { status: 200, json: ciSer(core).checkRun(repo, run) };
  });

  on('GET', `/repos/${R}/${R}/check-runs/(\\d+)/annotations`, async (ctx) => {
    const repo = auth.repoAccess(ctx, read);
    const run = runParam(ctx, repo);
    const page = paginate(ctx, core.config.url, run.annotations);
    return {
      status: 200,
      json: page.items.map((a) => ciSer(core).annotation(repo, run, a)),
      headers: page.headers,
    };
  });

  on('GET', `/repos/${R}/${R}/commits/(.+)/check-runs`, async (ctx) => {
    const repo = auth.repoAccess(ctx, read);
    const sha = await refParam(ctx, repo);
    const q = ctx.url.searchParams;
    let runs = [...state.ci.checkRuns.values()].filter((r) => r.repoId === repo.id && r.headSha === sha);
    if ((q.get('filter') ?? 'latest') === 'latest') {
      // The most recent run of each name in each suite (a re-run replaces the failed attempt).
      const latest = new Map<string, CheckRunRec>();
      for (const r of runs) latest.set(`${r.suiteId}:${r.name}`, r);
      runs = [...latest.values()];
    }
    const name = q.get('check_name');
    const status = q.get('status');
    runs = runs.filter((r) => (!name || r.name === name) && (!status || r.status === status)).reverse();
    const page = paginate(ctx, core.config.url, runs);
    return {
      status: 200,
      json: { total_count: runs.length, check_runs: page.items.map((r) => ciSer(core).checkRun(repo, r)) },
      headers: page.headers,
    };
  });

  on('GET', `/repos/${R}/${R}/commits/(.+)/check-suites`, async (ctx) => {
    const repo = auth.repoAccess(ctx, read);
    const sha = await refParam(ctx, repo);
    const suites = [...state.ci.suites.values()].filter((s) => s.repoId === repo.id && s.headSha === sha);
    const page = paginate(ctx, core.config.url, suites);
    const head = await headOf(repo, sha);
    return {
      status: 200,
      json: {
        total_count: suites.length,
        check_suites: page.items.map((s) => ciSer(core).checkSuite(repo, s, head)),
      },
      headers: page.headers,
    };
  });
}
