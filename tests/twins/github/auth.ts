import { type KeyObject, verify as verifySignature } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  type Auth,
  badCredentials,
  type Ctx,
  forbidden,
  invalidBody,
  notFound,
  PERMISSION_RANK,
  randomToken,
  requiresAuth,
  unauthorized,
} from './http.js';
import type { Json } from './serialize.js';
import type { InstallationRec, RepoRec, TokenRec } from './state.js';
import type { TwinCore } from './twin-core.js';
import { twinWebOf } from './twin-web.js';
import type { AccessLevel, Permission } from './types.js';

/** What a REST call needs on its repository: an app permission, or for a person a role. */
export interface AccessNeed {
  perm: string;
  level: AccessLevel;
  userLevel?: Permission;
}

function b64urlJson(part: string): Json | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

const NOT_ACCESSIBLE =
  'There is at least one repository that does not exist or is not accessible to the parent installation.';

/** Credentials and access as GitHub checks them: app JWTs, installation tokens, personal tokens. */
export class TwinAuth {
  constructor(
    private readonly core: TwinCore,
    private readonly publicKey: KeyObject,
  ) {}

  private verifyJwt(jwt: string): boolean {
    const parts = jwt.split('.');
    if (parts.length !== 3) return false;
    const [h, p, s] = parts as [string, string, string];
    const header = b64urlJson(h);
    const payload = b64urlJson(p);
    if (!header || !payload || header.alg !== 'RS256') return false;
    const ok = verifySignature(
      'sha256',
      Buffer.from(`${h}.${p}`),
      // An app registered through the manifest flow replaces the twin's own (TwinCore.adoptApp).
      this.core.appPublicKey ?? this.publicKey,
      Buffer.from(s, 'base64url'),
    );
    if (!ok) return false;
    if (String(payload.iss) !== String(this.core.config.appId)) return false;
    const now = Math.floor(Date.now() / 1000);
    const exp = payload.exp;
    const iat = payload.iat;
    if (typeof exp !== 'number' || typeof iat !== 'number') return false;
    // GitHub refuses expired tokens, tokens issued in the future, and lifetimes over 10 minutes.
    if (exp <= now) return false;
    if (iat > now + 60) return false;
    if (exp - iat > 660) return false;
    return true;
  }

  private credentialFromHeader(req: IncomingMessage): string | null | 'malformed' {
    const h = req.headers.authorization;
    if (!h) return null;
    const m = /^(token|bearer|basic)\s+(.+)$/i.exec(h.trim());
    if (!m) return 'malformed';
    const scheme = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (scheme !== 'basic') return value;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i < 0 ? decoded : decoded.slice(i + 1);
  }

  authenticate(req: IncomingMessage): Auth {
    const state = this.core.state;
    const cred = this.credentialFromHeader(req);
    if (cred === null) return { kind: 'none' };
    if (cred === 'malformed') return { kind: 'invalid' };
    if (cred.startsWith('ghs_')) {
      const rec = state.tokens.get(cred);
      if (!rec || rec.expiresAt <= Date.now() || !state.installations.has(rec.installationId)) {
        return { kind: 'invalid' };
      }
      return { kind: 'installation', token: cred, rec };
    }
    if (cred.startsWith('eyJ')) return this.verifyJwt(cred) ? { kind: 'jwt' } : { kind: 'invalid' };
    if (cred.startsWith('ghu_')) {
      // A user access token from the OAuth web flow (routes-oauth.ts): acts as that person, with their permissions.
      const user = twinWebOf(this.core).findUserToken(cred);
      return user ? { kind: 'user', user } : { kind: 'invalid' };
    }
    for (const u of state.users.values()) if (u.token && u.token === cred) return { kind: 'user', user: u };
    return { kind: 'invalid' };
  }

  tokenRepos(rec: TokenRec): RepoRec[] {
    const inst = this.core.state.installations.get(rec.installationId);
    if (!inst) return [];
    const all = this.core.state.installationRepos(inst);
    return rec.repos ? all.filter((r) => rec.repos!.has(r.fullName.toLowerCase())) : all;
  }

  /** Whether an installation token reaches `repo`; a miss is recorded as an out-of-scope request. */
  inScope(ctx: Pick<Ctx, 'record'>, rec: TokenRec, repo: RepoRec | undefined): repo is RepoRec {
    ctx.record.installationId = rec.installationId;
    const ok = repo !== undefined && this.tokenRepos(rec).some((r) => r.id === repo.id);
    if (!ok) ctx.record.outOfScope = true;
    return ok;
  }

  /**
   * Resolves {owner}/{repo} for a REST call and enforces access like GitHub: a repo the caller cannot see is
   * a 404 (never a 403, which would leak its existence); a visible repo without the needed permission is a 403.
   */
  repoAccess(ctx: Ctx, need: AccessNeed): RepoRec {
    const repo = this.core.state.findRepo(`${ctx.params[0]}/${ctx.params[1]}`);
    const auth = ctx.auth;
    if (auth.kind === 'invalid') throw badCredentials();
    if (auth.kind === 'jwt') throw forbidden('A JSON web token could not be used for this endpoint.');
    if (auth.kind === 'installation') {
      if (!this.inScope(ctx, auth.rec, repo)) throw notFound();
      const granted = auth.rec.permissions[need.perm];
      const ok =
        need.perm === 'metadata'
          ? true
          : granted === 'write' || (granted === 'read' && need.level === 'read');
      if (!ok) throw forbidden();
      return repo;
    }
    if (!repo) throw notFound();
    if (auth.kind === 'none') {
      if (repo.private) throw notFound();
      if (need.level === 'write') throw requiresAuth();
      return repo;
    }
    ctx.record.login = auth.user.login;
    const perm = this.core.state.permissionOf(repo, auth.user.login);
    if (perm === 'none') throw notFound();
    const required = need.userLevel ?? (need.level === 'write' ? 'write' : 'read');
    if (PERMISSION_RANK[perm] < PERMISSION_RANK[required]) {
      throw forbidden('Must have push access to this repository.');
    }
    return repo;
  }

  actorLogin(auth: Auth): string {
    if (auth.kind === 'installation') return this.core.config.botLogin;
    if (auth.kind === 'user') return auth.user.login;
    return 'ghost';
  }

  requireJwt(ctx: Ctx): void {
    if (ctx.auth.kind === 'jwt') return;
    if (ctx.auth.kind === 'none') {
      throw unauthorized('A JSON web token could not be decoded');
    }
    throw badCredentials();
  }

  mintToken(
    inst: InstallationRec,
    opts: {
      repositories?: string[];
      repositoryIds?: number[];
      permissions?: Record<string, AccessLevel>;
      ttlSeconds?: number;
    },
  ): { token: string; rec: TokenRec; expiresAt: string } {
    const instRepos = this.core.state.installationRepos(inst);
    let repos: Set<string> | null = null;
    if (opts.repositories || opts.repositoryIds) {
      repos = new Set();
      for (const name of opts.repositories ?? []) {
        const short = name.includes('/') ? name.split('/')[1]! : name;
        const r = instRepos.find((x) => x.name.toLowerCase() === short.toLowerCase());
        if (!r) throw invalidBody(NOT_ACCESSIBLE);
        repos.add(r.fullName.toLowerCase());
      }
      for (const id of opts.repositoryIds ?? []) {
        const r = instRepos.find((x) => x.id === id);
        if (!r) throw invalidBody(NOT_ACCESSIBLE);
        repos.add(r.fullName.toLowerCase());
      }
    }
    let permissions = { ...inst.permissions };
    if (opts.permissions) {
      permissions = {};
      for (const [k, v] of Object.entries(opts.permissions)) {
        const granted = inst.permissions[k];
        if (!granted || (granted === 'read' && v === 'write') || (v !== 'read' && v !== 'write')) {
          throw invalidBody('The permissions requested are not granted to this installation.');
        }
        permissions[k] = v;
      }
      if (!permissions.metadata && inst.permissions.metadata) permissions.metadata = 'read';
    }
    const token = randomToken('ghs_');
    const expiresAtMs = Date.now() + (opts.ttlSeconds ?? this.core.config.tokenTtlSeconds) * 1000;
    const rec: TokenRec = { installationId: inst.id, expiresAt: expiresAtMs, repos, permissions };
    this.core.state.tokens.set(token, rec);
    return { token, rec, expiresAt: new Date(expiresAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }
}
