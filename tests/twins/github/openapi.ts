import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';

/**
 * Validates twin responses against GitHub's own OpenAPI description (@octokit/openapi,
 * generated/api.github.com.json). Used by the conformance tests only.
 */

type Obj = Record<string, unknown>;
const require = createRequire(import.meta.url);

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** OpenAPI 3.0 `nullable: true` is not JSON Schema: turn it into a type union (or anyOf with null). */
function convertNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convertNullable);
  if (!isObj(node)) return node;
  const out: Obj = {};
  for (const [k, v] of Object.entries(node))
    out[k] = k === 'example' || k === 'examples' ? v : convertNullable(v);
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
      return out;
    }
    return { anyOf: [out, { type: 'null' }] };
  }
  if ('nullable' in out) delete out.nullable;
  return out;
}

function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (!isObj(node)) return node;
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `gh${v}` : rewriteRefs(v);
  }
  return out;
}

export interface OpenApiValidator {
  /** The JSON schema for a response, or null when the description documents no JSON body for it. */
  hasOperation(method: string, path: string): boolean;
  documentedStatuses(method: string, path: string): string[];
  validate(
    method: string,
    path: string,
    status: number,
    body: unknown,
  ): { ok: boolean; errors: string; documented: boolean };
  validateComponent(name: string, body: unknown): { ok: boolean; errors: string };
}

/**
 * One per process: parsing and rewriting the 13 MB description costs about a CPU-second, and the
 * unit project shares modules between files (`isolate: false`). Safe to share: the validator keeps
 * nothing but its compile cache, and each call reads its validator's errors synchronously.
 */
let loaded: OpenApiValidator | null = null;

export function loadOpenApi(): OpenApiValidator {
  loaded ??= parseOpenApi();
  return loaded;
}

function parseOpenApi(): OpenApiValidator {
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as Obj;
  // Only schemas (what response schemas $ref) and responses (what operations $ref) are used; the
  // examples are most of the components' 4 MB and ajv would walk them all when the schema is added.
  const all = spec.components as Obj;
  const components = convertNullable({ schemas: all.schemas, responses: all.responses }) as Obj;
  const paths = spec.paths as Record<string, Record<string, Obj>>;
  // ajv-formats is CommonJS; its callable export sits on `.default` or is the module itself.
  const addFormats = ((formatsModule as { default?: unknown }).default ?? formatsModule) as (a: Ajv) => Ajv;
  // inlineRefs: false compiles each referenced component once and calls it, instead of inlining it
  // into every response schema that uses it (simple-user, repository... are in most): the same
  // validation, about half the compile time.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true, inlineRefs: false });
  addFormats(ajv);
  ajv.addSchema({ $id: 'gh', components: { schemas: rewriteRefs(components.schemas) } });
  const cache = new Map<string, ValidateFunction | null>();

  function responseOf(method: string, path: string, status: string): Obj | null {
    const op = paths[path]?.[method.toLowerCase()];
    const responses = op?.responses as Record<string, Obj> | undefined;
    let resp = responses?.[status];
    if (!resp) return null;
    if (typeof resp.$ref === 'string') {
      const name = resp.$ref.split('/').pop()!;
      resp = (components.responses as Record<string, Obj>)[name]!;
    }
    return resp;
  }

  function validator(method: string, path: string, status: string): ValidateFunction | null {
    const key = `${method} ${path} ${status}`;
    if (cache.has(key)) return cache.get(key)!;
    const resp = responseOf(method, path, status);
    const content = resp?.content as Record<string, Obj> | undefined;
    const raw = content?.['application/json']?.schema;
    const schema = raw === undefined ? null : (convertNullable(raw) as Obj);
    const fn = schema ? ajv.compile(rewriteRefs(schema) as Obj) : null;
    cache.set(key, fn);
    return fn;
  }

  return {
    hasOperation: (method, path) => Boolean(paths[path]?.[method.toLowerCase()]),
    documentedStatuses: (method, path) =>
      Object.keys((paths[path]?.[method.toLowerCase()]?.responses as Obj) ?? {}),
    validate(method, path, status, body) {
      const resp = responseOf(method, path, String(status));
      if (!resp) return { ok: false, errors: `status ${status} undocumented`, documented: false };
      const fn = validator(method, path, String(status));
      if (!fn) {
        // Documented without a schema (204, or errors such as 422 on DELETE refs): a body, if any, must be
        // one of GitHub's error shapes.
        if (body === undefined || body === null || body === '')
          return { ok: true, errors: '', documented: true };
        if (status < 400) return { ok: false, errors: 'unexpected body', documented: true };
        const c = this.validateComponent(status === 422 ? 'validation-error' : 'basic-error', body);
        return { ...c, documented: true };
      }
      const ok = fn(body) as boolean;
      return { ok, errors: ok ? '' : ajv.errorsText(fn.errors), documented: true };
    },
    validateComponent(name, body) {
      const key = `component ${name}`;
      let fn = cache.get(key);
      if (!fn) {
        fn = ajv.compile({ $ref: `gh#/components/schemas/${name}` });
        cache.set(key, fn);
      }
      const ok = fn(body) as boolean;
      return { ok, errors: ok ? '' : ajv.errorsText(fn.errors) };
    },
  };
}
