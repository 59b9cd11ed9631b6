import { badCredentials, forbidden, notFound, nowIso, requiresAuth, str, validation } from './http.js';
import { findForkIn, forkRepo, freeRepoName } from './records-repos.js';
import { R, type RouteKit } from './router.js';

/**
 * Forks (`POST /repos/{o}/{r}/forks`) and the app's installation on an account
 * (`GET /orgs/{org}/installation`, `GET /users/{username}/installation`), as GitHub answers them
 * for an app that pushes to a fork it owns in another account.
 */
export function registerForkRoutes({ core, auth, on }: RouteKit): void {
  const { state, ser } = core;

  on('POST', `/repos/${R}/${R}/forks`, async (ctx) => {
    const caller = ctx.auth;
    if (caller.kind === 'none') throw requiresAuth();
    if (caller.kind === 'invalid') throw badCredentials();
    if (caller.kind === 'jwt') throw forbidden('A JSON web token could not be used for this endpoint.');
    const source = state.findRepo(`${ctx.params[0]}/${ctx.params[1]}`);
    const body = await ctx.body();
    const organization = str(body.organization);
    let owner: string;
    if (caller.kind === 'installation') {
      ctx.record.installationId = caller.rec.installationId;
      const inst = state.installations.get(caller.rec.installationId)!;
      // GitHub: the app must be installed on the source account with access to the source repository
      // (or the source is public) and on the destination account with access to all repositories.
      const sourceVisible =
        source !== undefined && (!source.private || state.installationForRepo(source) !== undefined);
      if (!sourceVisible) {
        ctx.record.outOfScope = true;
        throw notFound();
      }
      owner = organization ?? inst.account;
      if (owner.toLowerCase() !== inst.account.toLowerCase() || inst.repos !== 'all') throw forbidden();
      // Creating a repository in the destination account: "Administration" (write) and "Contents" (read).
      if (caller.rec.permissions.administration !== 'write') throw forbidden();
      if (caller.rec.repos !== null) throw forbidden();
    } else {
      ctx.record.login = caller.user.login;
      if (!source || state.permissionOf(source, caller.user.login) === 'none') throw notFound();
      owner = organization ?? caller.user.login;
      if (organization && state.findUser(organization)?.type !== 'Organization') throw forbidden();
    }
    if (organization && state.findUser(organization)?.type !== 'Organization') {
      throw validation([{ resource: 'Fork', field: 'organization', code: 'invalid' }]);
    }
    if (source.owner.toLowerCase() === owner.toLowerCase() && !str(body.name)) {
      throw validation([
        {
          resource: 'Fork',
          code: 'custom',
          message: 'Cannot fork a repository into its own account without a new name.',
        },
      ]);
    }
    // Asking again returns the fork the account already has, even while it is still being made.
    const existing = findForkIn(core, source, owner);
    if (existing) return { status: 202, json: ser.fullRepo(existing) };
    const made = await forkRepo(core, {
      repo: source.fullName,
      owner,
      name: freeRepoName(core, owner, str(body.name) ?? source.name),
      defaultBranchOnly: body.default_branch_only === true,
      readyAt: Date.now() + core.config.forkDelayMs,
    });
    const fork = state.repoById(made.id)!;
    fork.createdAt = nowIso();
    core.restEvent('fork', source, auth.actorLogin(caller), () => ({ forkee: ser.fullRepo(fork) }));
    return { status: 202, json: ser.fullRepo(fork) };
  });

  /** The app's installation on an account; organizations only under `/orgs`, as on GitHub. */
  function installationOf(account: string, organizationsOnly: boolean) {
    const user = state.findUser(account);
    if (!user || (organizationsOnly && user.type !== 'Organization')) throw notFound();
    for (const inst of state.installations.values()) {
      if (inst.account.toLowerCase() === account.toLowerCase()) return inst;
    }
    throw notFound();
  }

  on('GET', `/orgs/${R}/installation`, async (ctx) => {
    auth.requireJwt(ctx);
    return { status: 200, json: ser.installation(installationOf(decodeURIComponent(ctx.params[0]!), true)) };
  });

  on('GET', `/users/${R}/installation`, async (ctx) => {
    auth.requireJwt(ctx);
    return { status: 200, json: ser.installation(installationOf(decodeURIComponent(ctx.params[0]!), false)) };
  });
}
