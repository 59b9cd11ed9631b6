import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INTEGRATION_TESTS } from '../../vitest.config.js';

/**
 * `npm run test:unit` promises every test that needs neither Redis nor Docker, and none that does.
 * This file keeps the promise as test files move: vitest's own resolution of the two projects must
 * cover every test file exactly once, every integration rule must still match something, and no unit
 * file may reach (through the test helpers it imports) a client or helper that needs a service.
 */

const ROOT = resolve(import.meta.dirname, '../..');

/** Packages whose value import means a live service (a type-only import does not). */
const SERVICE_PACKAGES = ['ioredis', 'bullmq', 'dockerode'];
/** Commands that talk to a service, seen as a quoted string literal (the docker CLI run by execFile). */
const SERVICE_COMMANDS = /(['"])(docker|docker-compose|redis-cli|redis-server)\1/;
/** Test helpers that start or connect to a service or run real git over HTTP. */
const SERVICE_HELPERS = [
  'tests/queue/redis-helpers.ts',
  'tests/sandbox/helpers.ts',
  'tests/e2e/e2e-helpers.ts',
  'tests/cli/cli-helpers.ts',
  'tests/workspace/git-http-server.ts',
  'scripts/local-stack.ts',
];

function allTestFiles(): string[] {
  return (readdirSync(join(ROOT, 'tests'), { recursive: true }) as string[])
    .map((f) => `tests/${f}`)
    .filter((f) => f.endsWith('.test.ts'))
    .sort();
}

/** The two projects as vitest itself resolves them from vitest.config.ts. */
function listProjects(): { file: string; projectName: string }[] {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'list', '--filesOnly', '--json'],
    { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  const listed = JSON.parse(r.stdout) as { file: string; projectName: string }[];
  return listed.map((e) => ({ file: relative(ROOT, e.file), projectName: e.projectName }));
}

/** `*` (within a folder) and `**` (across folders), the only glob syntax INTEGRATION_TESTS uses. */
function globToRegExp(glob: string): RegExp {
  const source = glob
    .split(/(\*\*\/|\*)/)
    .map((part) => {
      if (part === '**/') return '(?:.*/)?';
      if (part === '*') return '[^/]*';
      return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

interface ImportRef {
  specifier: string;
  typeOnly: boolean;
}

function importsOf(source: string): ImportRef[] {
  const refs: ImportRef[] = [];
  const fromClause = /^\s*(?:import|export)\s+([^;]*?)\s+from\s+['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(fromClause)) {
    const clause = (m[1] ?? '').trim();
    const braces = clause.match(/^\{([\s\S]*)\}$/);
    const typeOnly =
      clause.startsWith('type ') ||
      (braces !== null &&
        (braces[1] ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .every((s) => s.startsWith('type ')));
    refs.push({ specifier: m[2] ?? '', typeOnly });
  }
  for (const m of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) {
    refs.push({ specifier: m[1] ?? '', typeOnly: false });
  }
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    refs.push({ specifier: m[1] ?? '', typeOnly: false });
  }
  return refs;
}

/** Resolves a relative `.js` specifier to the repository's `.ts` file, or null. */
function resolveLocal(fromFile: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const abs = resolve(dirname(join(ROOT, fromFile)), specifier);
  for (const candidate of [abs.replace(/\.js$/, '.ts'), abs, `${abs}.ts`, join(abs, 'index.ts')]) {
    if (existsSync(candidate) && candidate.endsWith('.ts')) return relative(ROOT, candidate);
  }
  return null;
}

/**
 * Why a test file needs a service (it runs a service's command line, or imports a client or a
 * helper that needs one), following its value imports through test and script helpers
 * (not into src/ or worker/: importing a module that could talk to Redis is not talking to it).
 */
function serviceReason(testFile: string): string | null {
  const seen = new Set<string>();
  const queue: { file: string; via: string[] }[] = [{ file: testFile, via: [testFile] }];
  while (queue.length > 0) {
    const { file, via } = queue.shift() as { file: string; via: string[] };
    if (seen.has(file)) continue;
    seen.add(file);
    if (SERVICE_HELPERS.includes(file) && file !== testFile) return via.join(' → ');
    const source = readFileSync(join(ROOT, file), 'utf8');
    const command = source.match(SERVICE_COMMANDS)?.[2];
    if (command) return [...via, `runs ${command}`].join(' → ');
    for (const ref of importsOf(source)) {
      if (ref.typeOnly) continue;
      if (SERVICE_PACKAGES.includes(ref.specifier)) return [...via, ref.specifier].join(' → ');
      const local = resolveLocal(file, ref.specifier);
      if (local && (local.startsWith('tests/') || local.startsWith('scripts/'))) {
        queue.push({ file: local, via: [...via, local] });
      }
    }
  }
  return null;
}

describe('the unit / integration split (vitest.config.ts)', () => {
  const files = allTestFiles();
  const listed = listProjects();

  it('puts every test file in exactly one project', () => {
    const projectsOf = new Map<string, string[]>();
    for (const { file, projectName } of listed) {
      projectsOf.set(file, [...(projectsOf.get(file) ?? []), projectName]);
    }
    expect([...projectsOf.keys()].sort()).toEqual(files);
    const notOnce = [...projectsOf].filter(([, projects]) => projects.length !== 1);
    expect(notOnce).toEqual([]);
    expect(new Set(listed.map((e) => e.projectName))).toEqual(new Set(['unit', 'integration']));
  });

  it('has no integration rule that matches no test file (a moved test would leave one behind)', () => {
    const stale = INTEGRATION_TESTS.filter((rule) => !files.some((f) => globToRegExp(rule).test(f)));
    expect(stale).toEqual([]);
  });

  it('agrees with the documented glob reading of INTEGRATION_TESTS', () => {
    const integration = listed.filter((e) => e.projectName === 'integration').map((e) => e.file);
    const byRules = files.filter((f) => INTEGRATION_TESTS.some((rule) => globToRegExp(rule).test(f)));
    expect(integration.sort()).toEqual(byRules);
  });

  it('keeps every test that needs Redis, Docker or git over HTTP out of the unit project', () => {
    const unit = listed.filter((e) => e.projectName === 'unit').map((e) => e.file);
    const needy = unit.map((f) => serviceReason(f)).filter((reason) => reason !== null);
    // Each entry names the import chain; add the file (or its folder) to INTEGRATION_TESTS.
    expect(needy).toEqual([]);
  });

  it('recognises the service tests it guards against (Redis, Docker, the whole stack)', () => {
    const integration = listed.filter((e) => e.projectName === 'integration').map((e) => e.file);
    const reasons = integration.map((f) => serviceReason(f) ?? '').join('\n');
    expect(reasons).toMatch(/ioredis|bullmq|redis-helpers/);
    expect(reasons).toMatch(/dockerode|tests\/sandbox\/helpers\.ts/);
    expect(reasons).toMatch(/local-stack/);
    expect(reasons).toMatch(/runs docker/);
    expect(serviceReason('tests/docs/test-split.test.ts')).toBeNull();
  });
});
