import { createSign } from 'node:crypto';
import { expect } from 'vitest';
import type { OpenApiValidator } from './openapi.js';

/**
 * The conformance tests' request helper: calls the twin and validates each answer against GitHub's
 * OpenAPI description for that path, method and status, recording what was checked so a final test can
 * require a success and an error check for every served endpoint.
 */

export interface CallOptions {
  auth?: string | null;
  body?: unknown;
  accept?: string;
  redirect?: 'follow' | 'manual';
}

export function appJwt(privateKey: string, appId: number, offsetSeconds = 0): string {
  const now = Math.floor(Date.now() / 1000) + offsetSeconds;
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc({ iat: now - 30, exp: now + 540, iss: appId })}`;
  const sig = createSign('RSA-SHA256').update(data).sign(privateKey).toString('base64url');
  return `${data}.${sig}`;
}

export const tok = (t: string) => `token ${t}`;
export const bearer = (t: string) => `Bearer ${t}`;

export function conformanceKit(deps: { api: () => OpenApiValidator; url: () => string }) {
  const checked: { method: string; template: string; status: number }[] = [];

  async function call(method: string, path: string, options: CallOptions = {}) {
    const headers: Record<string, string> = { accept: options.accept ?? 'application/vnd.github+json' };
    if (options.auth) headers.authorization = options.auth;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${deps.url()}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      redirect: options.redirect ?? 'follow',
    });
    const text = await res.text();
    let json: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) json = JSON.parse(text);
    return { status: res.status, json, text, headers: res.headers };
  }

  /** Calls the twin and validates the answer against the OpenAPI response schema for that status. */
  async function check(
    method: string,
    template: string,
    path: string,
    expected: number,
    options: CallOptions = {},
  ) {
    const api = deps.api();
    const res = await call(method, path, options);
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).toBe(expected);
    const body = res.status === 204 || (res.status >= 300 && res.status < 400) ? undefined : res.json;
    const v = api.validate(method, template, res.status, body);
    if (template === '/graphql' && res.status === 200) {
      // GraphQL is outside the REST description; its answers are asserted by the tests themselves.
    } else if (v.documented) {
      expect(v.ok, `${method} ${template} ${res.status}: ${v.errors}`).toBe(true);
    } else {
      // GitHub answers 401 (and some 403/404/422) on every endpoint even where the description omits them:
      // those bodies must still be GitHub's error shapes.
      expect(
        res.status,
        `${method} ${template}: status ${res.status} is not documented`,
      ).toBeGreaterThanOrEqual(400);
      const schema = res.status === 422 ? 'validation-error' : 'basic-error';
      const c = api.validateComponent(schema, res.json);
      expect(c.ok, `${method} ${template} ${res.status} as ${schema}: ${c.errors}`).toBe(true);
      expect(typeof (res.json as { message?: unknown }).message).toBe('string');
    }
    checked.push({ method, template, status: res.status });
    return res;
  }

  /** Endpoints of `served` lacking a checked success (< 400) or a checked error (>= 400). */
  function missingChecks(served: string[]): string[] {
    const api = deps.api();
    const missing: string[] = [];
    for (const key of served) {
      const [method, template] = key.split(' ') as [string, string];
      if (template !== '/graphql') expect(api.hasOperation(method, template), key).toBe(true);
      const statuses = checked
        .filter((c) => c.method === method && c.template === template)
        .map((c) => c.status);
      if (!statuses.some((s) => s < 400) || !statuses.some((s) => s >= 400)) missing.push(key);
    }
    return missing;
  }

  return { call, check, checked, missingChecks };
}
