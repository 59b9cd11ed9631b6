import { answerGraphql, parseGraphqlOperation } from './graphql.js';
import { badCredentials, HttpError, PERMISSION_RANK, str } from './http.js';
import type { RouteKit } from './router.js';
import type { Json } from './serialize.js';
import type { RepoRec } from './state.js';

/** `POST /graphql`: review threads and their comments (see graphql.ts), with REST's visibility rules. */
export function registerGraphqlRoutes({ core, auth, on }: RouteKit): void {
  on('POST', '/graphql', async (ctx) => {
    const caller = ctx.auth;
    if (caller.kind === 'none') {
      throw new HttpError(401, {
        message: 'This endpoint requires you to be authenticated.',
        documentation_url:
          'https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql',
      });
    }
    if (caller.kind === 'invalid' || caller.kind === 'jwt') throw badCredentials();
    const body = await ctx.body();
    const query = str(body.query) ?? '';
    const variables = (body.variables && typeof body.variables === 'object' ? body.variables : {}) as Json;
    const parsed = parseGraphqlOperation(query, variables);
    if ('message' in parsed) return { status: 200, json: { errors: [parsed] } };
    // Like REST, a repository out of the caller's reach reads as missing.
    const visible = (repo: RepoRec) => {
      if (caller.kind === 'installation') return auth.inScope(ctx, caller.rec, repo);
      ctx.record.login = caller.user.login;
      return core.state.permissionOf(repo, caller.user.login) !== 'none';
    };
    const canWrite = (repo: RepoRec) => {
      if (caller.kind === 'installation') return caller.rec.permissions.pull_requests === 'write';
      return PERMISSION_RANK[core.state.permissionOf(repo, caller.user.login)] >= PERMISSION_RANK.write;
    };
    return { status: 200, json: answerGraphql(parsed, core.state, visible, canWrite) };
  });
}
