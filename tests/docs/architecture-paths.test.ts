import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docs/architecture.md is read by people new to the code, so a path it names that no longer exists
 * sends them looking for nothing (it once named a `probot-github-port.ts` that had been gone for
 * a while). Checked here: every repository path in a code span exists, every bare source file name
 * exists somewhere in the repository, and no link leaves the repository.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const DOC = 'docs/architecture.md';

/** Top-level entries of this repository; a path starting elsewhere (`.github/…`) is a user's repo. */
const REPO_TOP_LEVEL = ['src', 'worker', 'tests', 'scripts', 'bin', 'bench', 'docs', 'sandbox-image', '.ci'];
const SOURCE_DIRS = ['src', 'worker', 'tests', 'scripts', 'bin', 'bench'];

function codeSpans(markdown: string): string[] {
  return [...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => (m[1] ?? '').trim());
}

/** `worker/agent/**` → `worker/agent`, `docker-sandbox-*.test.ts` stays a glob (not checked). */
function repoPathOf(span: string): string | null {
  if (!/^[\w.-]+(\/[\w.*-]+)*\/?$/.test(span)) return null;
  const first = span.split('/')[0] ?? '';
  if (!REPO_TOP_LEVEL.includes(first) || !span.includes('/')) return null;
  const path = span.replace(/(\/\*\*?)+$/, '').replace(/\/$/, '');
  return path.includes('*') ? null : path;
}

function sourceFileNames(): Set<string> {
  const names = new Set<string>(readdirSync(ROOT));
  for (const dir of SOURCE_DIRS) {
    for (const f of readdirSync(join(ROOT, dir), { recursive: true }) as string[]) names.add(basename(f));
  }
  return names;
}

describe('docs/architecture.md', () => {
  const markdown = readFileSync(join(ROOT, DOC), 'utf8');

  it('names only repository paths that exist', () => {
    const paths = codeSpans(markdown)
      .map(repoPathOf)
      .filter((p): p is string => p !== null);
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it('names only source files that exist somewhere in the repository', () => {
    const names = sourceFileNames();
    const bare = codeSpans(markdown).filter((s) => /^[\w.-]+\.(ts|js|sh|c|cjs)$/.test(s));
    expect(bare.length).toBeGreaterThan(3);
    expect(bare.filter((name) => !names.has(name))).toEqual([]);
  });

  it('links only to files inside the repository', () => {
    const targets = [...markdown.matchAll(/\]\(([^)\s]+)[^)]*\)/g)].map((m) => m[1] ?? '');
    const outside = targets.filter((t) => {
      if (/^[a-z][a-z+.-]*:/i.test(t) || t.startsWith('//')) return true;
      const file = t.split('#')[0] ?? '';
      if (file === '') return false;
      const abs = resolve(join(ROOT, 'docs'), file);
      return !abs.startsWith(`${ROOT}/`) || !existsSync(abs);
    });
    expect(outside).toEqual([]);
    // A bare mention of a sibling folder outside the repository is a link too, for a reader.
    expect(markdown).not.toMatch(/\.\.\/shared\b|\.\.\/\.\.\//);
  });
});
