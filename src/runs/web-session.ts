import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import type { Redis } from 'ioredis';
import { keyPrefix } from '../queue/queue-names.js';

/**
 * Signed-in viewers of the run pages. The cookie holds only a session id, the
 * login and an expiry, signed with a key derived from SESSION_SECRET (so a
 * forged or edited cookie is refused, and an old one dies on its own); the
 * user's GitHub token stays server-side in Redis, encrypted with another key
 * derived from the same secret (a Redis dump alone does not hand out tokens).
 * Cookies are HttpOnly (no script reads them), SameSite=Lax (not sent on
 * cross-site POSTs; Lax, not Strict, so the OAuth redirect back from GitHub
 * still carries the state cookie) and Secure when the public URL is https.
 */
export const SESSION_COOKIE = 'pw_session';
export const OAUTH_COOKIE = 'pw_oauth';
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
const OAUTH_TTL_SECONDS = 10 * 60;

export interface SessionClaims {
  sid: string;
  login: string;
  uid: number;
  exp: number;
}

export interface OAuthClaims {
  state: string;
  verifier: string;
  next: string;
  exp: number;
}

export interface Session extends SessionClaims {
  token: string;
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export function createWebSessions(options: {
  secret: string;
  redis: Redis;
  prefix: string;
  secure: boolean;
  now?: () => number;
}) {
  const now = options.now ?? Date.now;
  const derive = (info: string) =>
    Buffer.from(hkdfSync('sha256', options.secret, 'pullwright-run-pages', info, 32));
  const signKey = derive('cookie-signing');
  const tokenKey = derive('token-encryption');
  const csrfKey = derive('csrf');
  const kp = keyPrefix(options.prefix);
  const sessionKey = (sid: string) => `${kp}:web-session:${sid}`;

  const sign = (payload: string) => createHmac('sha256', signKey).update(payload).digest('base64url');

  function seal(claims: object): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${sign(payload)}`;
  }

  function open<T extends { exp: number }>(value: string | undefined): T | null {
    if (!value) return null;
    const [payload, mac] = value.split('.');
    if (!payload || !mac) return null;
    const expected = Buffer.from(sign(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
      return typeof claims.exp === 'number' && claims.exp * 1000 > now() ? claims : null;
    } catch {
      return null;
    }
  }

  function cookie(name: string, value: string, maxAge: number): string {
    return `${name}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${options.secure ? '; Secure' : ''}`;
  }

  function encrypt(text: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', tokenKey, iv);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  function decrypt(sealed: string): string | null {
    try {
      const raw = Buffer.from(sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', tokenKey, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  return {
    /** Starts a session for a signed-in user; returns the Set-Cookie value. */
    async create(user: {
      login: string;
      id: number;
      token: string;
      expiresInSeconds?: number;
    }): Promise<string> {
      const ttl = Math.min(SESSION_TTL_SECONDS, user.expiresInSeconds ?? SESSION_TTL_SECONDS);
      const claims: SessionClaims = {
        sid: randomBytes(18).toString('base64url'),
        login: user.login,
        uid: user.id,
        exp: Math.floor(now() / 1000) + ttl,
      };
      await options.redis.set(sessionKey(claims.sid), encrypt(user.token), 'EX', ttl);
      return cookie(SESSION_COOKIE, seal(claims), ttl);
    },

    /** The request's session, or null (no cookie, bad signature, expired, signed out). */
    async read(cookieHeader: string | undefined): Promise<Session | null> {
      const claims = open<SessionClaims>(parseCookies(cookieHeader)[SESSION_COOKIE]);
      if (!claims) return null;
      const sealed = await options.redis.get(sessionKey(claims.sid));
      const token = sealed === null ? null : decrypt(sealed);
      return token === null ? null : { ...claims, token };
    },

    async destroy(session: Session): Promise<string> {
      await options.redis.del(sessionKey(session.sid));
      return cookie(SESSION_COOKIE, '', 0);
    },

    /** The OAuth round trip's state, PKCE verifier and where to go back, in a short-lived signed cookie. */
    oauthStart(next: string): { cookie: string; claims: OAuthClaims } {
      const claims: OAuthClaims = {
        state: randomBytes(18).toString('base64url'),
        verifier: randomBytes(32).toString('base64url'),
        next,
        exp: Math.floor(now() / 1000) + OAUTH_TTL_SECONDS,
      };
      return { cookie: cookie(OAUTH_COOKIE, seal(claims), OAUTH_TTL_SECONDS), claims };
    },

    oauthRead(cookieHeader: string | undefined): OAuthClaims | null {
      return open<OAuthClaims>(parseCookies(cookieHeader)[OAUTH_COOKIE]);
    },

    oauthClear(): string {
      return cookie(OAUTH_COOKIE, '', 0);
    },

    /** A token bound to the session and an action (e.g. stopping one run): a forged form lacks it. */
    csrfToken(session: Session, action: string): string {
      return createHmac('sha256', csrfKey).update(`${session.sid}\u0000${action}`).digest('base64url');
    },

    checkCsrf(session: Session, action: string, given: string | undefined): boolean {
      if (!given) return false;
      const expected = Buffer.from(this.csrfToken(session, action));
      const got = Buffer.from(given);
      return expected.length === got.length && timingSafeEqual(expected, got);
    },
  };
}

export type WebSessions = ReturnType<typeof createWebSessions>;
