import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PullwrightError } from '../../../src/errors.js';
import { type AdminApi, handleAdmin } from './admin.js';
import type { TwinAuth } from './auth.js';
import { GIT_PATH, handleGit } from './git-http.js';
import {
  badCredentials,
  type Ctx,
  HttpError,
  isLoopback,
  notFound,
  nowIso,
  parseJsonBody,
  writeJson,
} from './http.js';
import type { Router } from './router.js';
import type { Json } from './serialize.js';
import type { TwinCore } from './twin-core.js';
import type { AuthKind } from './types.js';

/**
 * Answers one request: the admin API, injected faults, git smart HTTP, then the REST routes. Every
 * non-admin request is recorded (who, which installation, status, whether it reached out of scope).
 */
export function createDispatcher(core: TwinCore, auth: TwinAuth, router: Router, admin: AdminApi) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', core.config.url);
    const method = req.method ?? 'GET';
    const caller = auth.authenticate(req);
    const record: Ctx['record'] = {
      installationId: caller.kind === 'installation' ? caller.rec.installationId : null,
      login: caller.kind === 'user' ? caller.user.login : null,
      outOfScope: false,
    };
    const isAdmin = u.pathname.startsWith('/_twin/');
    res.setHeader('x-github-request-id', randomBytes(8).toString('hex').toUpperCase());
    res.on('finish', () => {
      if (isAdmin) return;
      core.requests.push({
        method,
        path: u.pathname,
        query: u.search,
        authKind: caller.kind as AuthKind,
        installationId: record.installationId,
        login: record.login,
        status: res.statusCode,
        outOfScope: record.outOfScope,
        at: nowIso(),
      });
    });
    let body: Promise<Json> | undefined;
    const ctx: Ctx = {
      req,
      res,
      url: u,
      params: [],
      auth: caller,
      record,
      body: () => (body ??= parseJsonBody(req)),
    };
    try {
      if (isAdmin) {
        // The admin API has no auth, so only loopback callers may use it.
        if (!isLoopback(req.socket.remoteAddress)) throw notFound();
        const out = await handleAdmin(core, admin, ctx);
        if (out.text !== undefined) {
          res.statusCode = out.status;
          res.setHeader('content-type', 'text/plain; charset=utf-8');
          res.end(out.text);
          return;
        }
        return writeJson(res, out.status, out.json);
      }
      for (const outcome of admin.faults.match(method, u.pathname)) {
        if (outcome.kind === 'delay') await new Promise((r) => setTimeout(r, outcome.ms));
        else throw new HttpError(outcome.status, outcome.body, outcome.headers);
      }
      const gm = GIT_PATH.exec(u.pathname);
      if (gm && !u.pathname.startsWith('/repos/')) {
        await handleGit(core, auth, req, res, u, gm, ctx);
        return;
      }
      const path = u.pathname.length > 1 ? u.pathname.replace(/\/+$/, '') : u.pathname;
      const route = router.match(method, path);
      if (route) {
        ctx.params = route.params;
        const out = await route.handler(ctx);
        for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
        if (out.raw) {
          res.statusCode = out.status;
          res.end(out.raw);
          return;
        }
        return writeJson(res, out.status, out.json);
      }
      if (caller.kind === 'invalid') throw badCredentials();
      // GitHub answers an unknown path and a known path with the wrong method alike.
      throw notFound();
    } catch (err) {
      if (err instanceof HttpError) {
        for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
        return writeJson(res, err.status, err.body);
      }
      if (err instanceof PullwrightError) {
        // Misuse of the seed/action API (admin endpoints): say what was wrong instead of a 500.
        const status = err.code === 'not_found' ? 404 : err.code === 'conflict' ? 409 : 422;
        return writeJson(res, status, { message: err.message, code: err.code });
      }
      throw err;
    }
  };
}
