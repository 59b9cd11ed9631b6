import { matchesAnyGlob } from '../../src/domain/path-glob.js';
import { PullwrightError } from '../../src/errors.js';

/**
 * The last gate before anything is pushed. The patch came out of a sandbox the
 * model controlled, so it is checked as hostile input: not empty, not oversized,
 * no protected path (workflows by default: a pushed workflow runs with the
 * repository's secrets), no `.git` internals, and nothing that looks like a credential.
 */
/**
 * The one cap on a change's size, for the worker and `pullwright run` alike (they
 * had 5 and 20 MiB). A change this large is not reviewable as one pull request.
 */
export const MAX_PATCH_BYTES = 5 * 1024 ** 2;

export interface PatchSafetyOptions {
  /** Default MAX_PATCH_BYTES; tests pass smaller ones. */
  maxBytes?: number;
  protectedPaths: readonly string[];
  /** When the operator and the repo both allow it, protected paths may change. */
  allowProtected?: boolean;
}

export interface PatchFinding {
  kind: 'empty' | 'too-large' | 'protected-path' | 'git-internal' | 'secret';
  message: string;
  path?: string;
}

export interface SecretPattern {
  name: string;
  pattern: RegExp;
}

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  { name: 'private key', pattern: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { name: 'GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/ },
  { name: 'GitHub fine-grained token', pattern: /\bgithub_pat_[A-Za-z0-9_]{60,}\b/ },
  { name: 'Anthropic API key', pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/ },
  { name: 'OpenAI API key', pattern: /\bsk-(?:proj-)?[A-Za-z0-9]{32,}\b/ },
  { name: 'AWS access key id', pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/ },
  { name: 'Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { name: 'Stripe secret key', pattern: /\b[rs]k_live_[A-Za-z0-9]{20,}\b/ },
  { name: 'Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { name: 'npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
];

/** Unquotes a path as git prints it (`"a/with\ttab"` in C style). */
function unquoteGitPath(raw: string): string {
  // git ends ---/+++ names that contain spaces with a tab.
  raw = raw.replace(/\t$/, '');
  if (!raw.startsWith('"')) return raw;
  const inner = raw.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i] as string;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = inner[i + 1] as string;
    if (/[0-7]/.test(next)) {
      bytes.push(Number.parseInt(inner.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      const map: Record<string, number> = { n: 10, t: 9, '"': 34, '\\': 92, a: 7, b: 8, f: 12, r: 13, v: 11 };
      bytes.push(map[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Paths of a `diff --git a/X b/Y` header. Unquoted headers are ambiguous when a
 * path has spaces, but then X and Y are equal (renames are also listed in
 * `rename from/to` lines), so the header is split in the middle.
 */
function diffGitPaths(rest: string): string[] {
  if (rest.startsWith('"') || rest.endsWith('"')) {
    const tokens = rest.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    return tokens.map((t) => unquoteGitPath(t).replace(/^[ab]\//, ''));
  }
  const mid = (rest.length - 1) / 2;
  if (Number.isInteger(mid) && rest[mid] === ' ' && rest.slice(2, mid) === rest.slice(mid + 3)) {
    return [rest.slice(2, mid)];
  }
  return [];
}

/**
 * Walks a git patch, telling header lines (between `diff --git` and the first
 * hunk) from hunk lines, so a removed line that happens to read `-- a/x` is
 * never mistaken for a file header.
 */
function walkPatch(
  patch: string,
  onHeader: (line: string) => void,
  onHunkLine: (line: string, currentPath: string) => void,
): void {
  let inHeader = false;
  let currentPath = '';
  for (const line of patch.split('\n')) {
    if (line.startsWith('diff --git ')) {
      inHeader = true;
      const paths = diffGitPaths(line.slice('diff --git '.length));
      currentPath = paths[paths.length - 1] ?? '';
      onHeader(line);
    } else if (inHeader && (line.startsWith('@@') || line === 'GIT binary patch')) {
      inHeader = false;
    } else if (inHeader) {
      if (line.startsWith('+++ ') && !line.endsWith('/dev/null')) {
        currentPath = unquoteGitPath(line.slice(4)).replace(/^b\//, '');
      }
      onHeader(line);
    } else {
      onHunkLine(line, currentPath);
    }
  }
}

/** Every path a git patch touches (old and new sides, so a rename yields both). */
export function pathsInPatch(patch: string): string[] {
  const paths = new Set<string>();
  walkPatch(
    patch,
    (line) => {
      if (line.startsWith('diff --git ')) {
        for (const path of diffGitPaths(line.slice('diff --git '.length))) paths.add(path);
        return;
      }
      const fileLine = /^(?:---|\+\+\+) (.*)$/.exec(line);
      if (fileLine?.[1] && fileLine[1] !== '/dev/null') {
        paths.add(unquoteGitPath(fileLine[1]).replace(/^[ab]\//, ''));
        return;
      }
      const rename = /^(?:rename|copy) (?:from|to) (.*)$/.exec(line);
      if (rename?.[1]) paths.add(unquoteGitPath(rename[1]));
    },
    () => {},
  );
  return [...paths].sort();
}

/** Lines the patch adds, with the file they belong to. */
function addedLines(patch: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  walkPatch(
    patch,
    () => {},
    (line, path) => {
      if (line.startsWith('+')) out.push({ path, text: line.slice(1) });
    },
  );
  return out;
}

export function findPatchProblems(patch: string, options: PatchSafetyOptions): PatchFinding[] {
  const findings: PatchFinding[] = [];
  if (patch.trim() === '') return [{ kind: 'empty', message: 'The change is empty.' }];
  const bytes = Buffer.byteLength(patch);
  const maxBytes = options.maxBytes ?? MAX_PATCH_BYTES;
  if (bytes > maxBytes) {
    findings.push({
      kind: 'too-large',
      message: `The change is ${bytes} bytes, over the ${maxBytes}-byte limit.`,
    });
  }
  for (const path of pathsInPatch(patch)) {
    if (path === '.git' || path.startsWith('.git/') || path.includes('/.git/')) {
      findings.push({ kind: 'git-internal', path, message: `The change touches git internals: ${path}` });
      continue;
    }
    const glob = options.allowProtected ? null : matchesAnyGlob(path, options.protectedPaths);
    if (glob) {
      findings.push({
        kind: 'protected-path',
        path,
        message: `The change touches the protected path ${path} (matches \`${glob}\`).`,
      });
    }
  }
  for (const { path, text } of addedLines(patch)) {
    for (const { name, pattern } of SECRET_PATTERNS) {
      if (pattern.test(text)) {
        // The message names the kind and file, never the matched text itself.
        findings.push({
          kind: 'secret',
          path,
          message: `The change adds what looks like a ${name} in ${path}.`,
        });
      }
    }
  }
  return findings;
}

/** Throws a non-retryable `patch_rejected` error listing every problem. */
export function assertPatchSafe(patch: string, options: PatchSafetyOptions): void {
  const findings = findPatchProblems(patch, options);
  if (findings.length === 0) return;
  throw new PullwrightError('patch_rejected', findings.map((f) => f.message).join('\n'), {
    retryable: false,
    details: { findings: findings.map(({ kind, path }) => ({ kind, path })) },
  });
}
