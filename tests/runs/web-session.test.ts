import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createWebSessions, OAUTH_COOKIE, SESSION_COOKIE } from '../../src/runs/web-session.js';

/** A map standing in for Redis (unit test): what the session store keeps and reads back. */
function fakeRedis() {
  const data = new Map<string, string>();
  return {
    data,
    redis: {
      async set(k: string, v: string) {
        data.set(k, v);
        return 'OK';
      },
      async get(k: string) {
        return data.get(k) ?? null;
      },
      async del(k: string) {
        return data.delete(k) ? 1 : 0;
      },
    } as unknown as Redis,
  };
}

const SECRET = 'a-session-secret-of-at-least-32-characters!';
const cookieValue = (setCookie: string) => setCookie.split(';')[0] as string;

describe('run page sessions', () => {
  it('issues a signed HttpOnly SameSite cookie with an expiry; Secure behind https', async () => {
    const { redis, data } = fakeRedis();
    const sessions = createWebSessions({ secret: SECRET, redis, prefix: 't', secure: true });
    const cookie = await sessions.create({ login: 'alice', id: 7, token: 'ghu_usertoken123456' });
    expect(cookie).toMatch(
      new RegExp(`^${SESSION_COOKIE}=[^;]+; Path=/; Max-Age=28800; HttpOnly; SameSite=Lax; Secure$`),
    );
    const session = await sessions.read(cookieValue(cookie));
    expect(session).toMatchObject({ login: 'alice', uid: 7, token: 'ghu_usertoken123456' });
    // The token is not in the cookie and is stored encrypted.
    expect(cookie).not.toContain('ghu_');
    expect([...data.values()].join()).not.toContain('ghu_usertoken123456');
    const plain = createWebSessions({ secret: SECRET, redis, prefix: 't', secure: false });
    expect(await plain.create({ login: 'a', id: 1, token: 't' })).not.toContain('Secure');
  });

  it('refuses an edited, foreign-key, expired or signed-out cookie', async () => {
    const { redis } = fakeRedis();
    let now = Date.parse('2026-12-06T00:00:00Z');
    const sessions = createWebSessions({ secret: SECRET, redis, prefix: 't', secure: false, now: () => now });
    const cookie = cookieValue(await sessions.create({ login: 'bob', id: 2, token: 'ghu_x1234567' }));
    const [name, value] = cookie.split('=') as [string, string];
    const [payload, mac] = value.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const edited = Buffer.from(JSON.stringify({ ...claims, login: 'admin' })).toString('base64url');
    expect(await sessions.read(`${name}=${edited}.${mac}`)).toBeNull();
    const other = createWebSessions({
      secret: `${SECRET}-other`,
      redis,
      prefix: 't',
      secure: false,
      now: () => now,
    });
    expect(await other.read(cookie)).toBeNull();
    expect(await sessions.read(cookie)).not.toBeNull();
    now += 8 * 3600 * 1000 + 1000;
    expect(await sessions.read(cookie)).toBeNull();
    now -= 8 * 3600 * 1000;
    const session = await sessions.read(cookie);
    if (!session) throw new Error('expected a session');
    await sessions.destroy(session);
    expect(await sessions.read(cookie)).toBeNull();
  });

  it('binds CSRF tokens to the session and the action; the OAuth state cookie is signed too', async () => {
    const { redis } = fakeRedis();
    const sessions = createWebSessions({ secret: SECRET, redis, prefix: 't', secure: false });
    const a = await sessions.read(
      cookieValue(await sessions.create({ login: 'a', id: 1, token: 'tok_aaaaaaa' })),
    );
    const b = await sessions.read(
      cookieValue(await sessions.create({ login: 'b', id: 2, token: 'tok_bbbbbbb' })),
    );
    if (!a || !b) throw new Error('expected sessions');
    const token = sessions.csrfToken(a, 'stop:r_1');
    expect(sessions.checkCsrf(a, 'stop:r_1', token)).toBe(true);
    expect(sessions.checkCsrf(b, 'stop:r_1', token)).toBe(false);
    expect(sessions.checkCsrf(a, 'stop:r_2', token)).toBe(false);
    expect(sessions.checkCsrf(a, 'stop:r_1', undefined)).toBe(false);
    const start = sessions.oauthStart('/runs/r_1');
    expect(start.cookie).toMatch(new RegExp(`^${OAUTH_COOKIE}=.+HttpOnly; SameSite=Lax$`));
    expect(sessions.oauthRead(cookieValue(start.cookie))).toMatchObject({
      state: start.claims.state,
      next: '/runs/r_1',
    });
    expect(sessions.oauthRead(`${OAUTH_COOKIE}=${cookieValue(start.cookie).split('=')[1]}x`)).toBeNull();
  });
});
