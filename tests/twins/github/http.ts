import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Json } from './serialize.js';
import type { TokenRec, UserRec } from './state.js';
import type { Permission } from './types.js';

/** HTTP plumbing of the twin: GitHub's error bodies, the request context handlers get, small parsers. */

export const DOCS = 'https://docs.github.com/rest';

export const PERMISSION_RANK: Record<Permission | 'none', number> = {
  none: 0,
  read: 1,
  triage: 2,
  write: 3,
  maintain: 4,
  admin: 5,
};

/** An answer with GitHub's status, body and headers; thrown by handlers, written by the dispatcher. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message));
  }
}

export const error = (status: number, message: string, extra: Json = {}) =>
  new HttpError(status, { message, ...extra, documentation_url: DOCS, status: String(status) });

export const notFound = (message = 'Not Found') => error(404, message);
export const unauthorized = (message: string) => error(401, message);
export const badCredentials = () => unauthorized('Bad credentials');
export const requiresAuth = () => unauthorized('Requires authentication');
export const forbidden = (message = 'Resource not accessible by integration') => error(403, message);
export const validation = (errors: Json[], message = 'Validation Failed') => error(422, message, { errors });
export const invalidBody = (message: string) => error(422, message);

export type Auth =
  | { kind: 'none' }
  | { kind: 'invalid' }
  | { kind: 'jwt' }
  | { kind: 'installation'; token: string; rec: TokenRec }
  | { kind: 'user'; user: UserRec };

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  auth: Auth;
  record: { installationId: number | null; login: string | null; outOfScope: boolean };
  body(): Promise<Json>;
}

export interface HandlerResult {
  status: number;
  json?: unknown;
  raw?: Buffer;
  headers?: Record<string, string>;
}

export type Handler = (ctx: Ctx) => Promise<HandlerResult>;

export function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function randomToken(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(36);
  let out = prefix;
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

export async function readBody(req: IncomingMessage, limit = 25 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw invalidBody('Body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** A request body as GitHub reads it: empty is `{}`, a bare array is a label list, bad JSON is a 400. */
export async function parseJsonBody(req: IncomingMessage): Promise<Json> {
  const raw = await readBody(req);
  if (raw.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (Array.isArray(parsed)) return { labels: parsed };
    return parsed && typeof parsed === 'object' ? (parsed as Json) : {};
  } catch {
    throw error(400, 'Problems parsing JSON');
  }
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function strList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is string => typeof x === 'string');
}

/** Label names from `["a"]` or `[{ name: "a" }]`, as GitHub accepts both. */
export function labelNames(v: unknown): string[] {
  return Array.isArray(v)
    ? v.map((l) => (typeof l === 'string' ? l : (str((l as Json).name) ?? ''))).filter(Boolean)
    : [];
}

export function writeJson(res: ServerResponse, status: number, json: unknown): void {
  res.statusCode = status;
  res.setHeader('x-github-media-type', 'github.v3; format=json');
  res.setHeader('x-ratelimit-limit', '5000');
  res.setHeader('x-ratelimit-remaining', '4999');
  res.setHeader('x-ratelimit-reset', String(Math.floor(Date.now() / 1000) + 3600));
  if (status === 204 || json === undefined) {
    res.end();
    return;
  }
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(json));
}
