import { posix } from 'node:path';
import { matchesAnyGlob } from '../../src/domain/path-glob.js';
import { PullwrightError } from '../../src/errors.js';
import { decodeBinaryHunk } from './decode-binary-hunk.js';
import { addedLines, type PatchFile, pathsInPatch, readPatchFiles } from './read-patch-files.js';

export { pathsInPatch };

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
  /**
   * `unsafe-symlink`: a symlink whose target is absolute or leaves the repository.
   * `unreadable`: a binary hunk that cannot be decoded, so it cannot be scanned.
   */
  kind:
    | 'empty'
    | 'too-large'
    | 'protected-path'
    | 'git-internal'
    | 'secret'
    | 'unsafe-symlink'
    | 'unreadable';
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

/** The fixed folders a glob starts with (`.github/workflows/**` → `.github/workflows`). */
function literalPrefix(glob: string): string {
  const segments = glob
    .trim()
    .replace(/^\.?\//, '')
    .replace(/\/+$/, '')
    .split('/');
  const fixed: string[] = [];
  for (const segment of segments) {
    if (/[*?[]/.test(segment)) break;
    fixed.push(segment);
  }
  return fixed.join('/');
}

/**
 * The glob that protects `path`, if any. Beyond a plain match, a path that IS a
 * protected folder or one of its parents counts (`.github` itself replaced by a file
 * or a symlink, `''` for the repository root): whatever lives there decides what is
 * read at the protected place.
 */
function protectingGlob(path: string, globs: readonly string[]): string | null {
  if (path !== '') {
    const direct = matchesAnyGlob(path, globs);
    if (direct) return direct;
  }
  for (const glob of globs) {
    const prefix = literalPrefix(glob);
    if (path === '' || path === prefix || prefix.startsWith(`${path}/`)) return glob;
  }
  return null;
}

/**
 * Where a symlink added at `linkPath` points, relative to the repository root, or
 * null when its target is absolute or leaves the repository (refused outright: the
 * checkout of a CI runner or a reviewer would follow it out of the tree).
 */
function resolveLinkTarget(linkPath: string, target: string): string | null {
  if (target.startsWith('/') || target === '') return null;
  const joined = posix.normalize(posix.join(posix.dirname(linkPath), target)).replace(/\/+$/, '');
  if (joined === '..' || joined.startsWith('../')) return null;
  return joined === '.' ? '' : joined;
}

/** Follows links the patch itself adds, so `ci/x.yml` beside `ci -> .github/workflows` is judged as the workflow. */
function throughLinks(path: string, links: ReadonlyMap<string, string | null>): string {
  let current = path;
  for (let hops = 0; hops < 16; hops++) {
    const segments = current.split('/');
    let moved = false;
    for (let i = segments.length - 1; i >= 1; i--) {
      const target = links.get(segments.slice(0, i).join('/'));
      if (typeof target === 'string') {
        current = [target, ...segments.slice(i)].filter((s) => s !== '').join('/');
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }
  return current;
}

const SYMLINK_MODE = '120000';

function symlinkTarget(file: PatchFile, maxBytes: number): string | null {
  if (file.binary) {
    const hunk = decodeBinaryHunk(file.binary.header, file.binary.lines, maxBytes);
    return hunk.ok && hunk.kind === 'literal' ? hunk.bytes.toString('utf8') : null;
  }
  const text = file.newLines.join('\n');
  return file.noFinalNewline ? text : `${text}\n`;
}

function secretFindings(
  text: string,
  path: string | undefined,
  what: (name: string) => string,
): PatchFinding[] {
  return SECRET_PATTERNS.filter(({ pattern }) => pattern.test(text)).map(({ name }) => ({
    kind: 'secret' as const,
    path,
    message: what(name),
  }));
}

/**
 * Symlinks (issue 14 item 2) and binary content (item 7), which the path and line
 * checks cannot see: a link added or changed to point at a protected path (or out of
 * the repository), a path written through such a link in the same patch, a binary
 * blob bigger than the cap, and secrets in binary blobs and in file names.
 */
function fileFindings(patch: string, options: PatchSafetyOptions, maxBytes: number): PatchFinding[] {
  const findings: PatchFinding[] = [];
  const files = readPatchFiles(patch);
  const links = new Map<string, string | null>();
  for (const file of files) {
    if (!file.newPath || file.newMode !== SYMLINK_MODE) continue;
    const target = symlinkTarget(file, maxBytes);
    const resolved = target === null ? null : resolveLinkTarget(file.newPath, target);
    links.set(file.newPath, resolved);
    if (resolved === null) {
      findings.push({
        kind: 'unsafe-symlink',
        path: file.newPath,
        message: `The change adds a symlink ${file.newPath} whose target is absolute or outside the repository.`,
      });
    }
  }
  for (const file of files) {
    if (!file.newPath) continue;
    const path = file.newPath;
    // The message never repeats the name: it is what looks like a secret.
    // Only new names: a file the repository already had under that name is not the change's.
    if (file.newName)
      findings.push(
        ...secretFindings(
          path,
          undefined,
          (name) => `The change adds a file whose name looks like a ${name}.`,
        ),
      );
    if (!options.allowProtected) {
      const real = throughLinks(path, links);
      const target = links.get(path);
      const checks = [real !== path ? real : null, typeof target === 'string' ? target : null];
      for (const check of checks) {
        const glob = check === null ? null : protectingGlob(check, options.protectedPaths);
        if (glob) {
          findings.push({
            kind: 'protected-path',
            path,
            message: `The change reaches the protected path ${check || '(repository root)'} through the symlink ${path} (matches \`${glob}\`).`,
          });
          break;
        }
      }
    }
    if (!file.binary) continue;
    const hunk = decodeBinaryHunk(file.binary.header, file.binary.lines, maxBytes);
    if (!hunk.ok) {
      findings.push(
        hunk.reason === 'too-large'
          ? {
              kind: 'too-large',
              path,
              message: `The change adds ${hunk.size} bytes of binary data to ${path}, over the ${maxBytes}-byte limit.`,
            }
          : {
              kind: 'unreadable',
              path,
              message: `The binary change to ${path} cannot be read, so it cannot be checked.`,
            },
      );
      continue;
    }
    findings.push(
      ...secretFindings(
        hunk.bytes.toString('latin1'),
        path,
        (name) => `The change adds what looks like a ${name} in ${path} (binary file).`,
      ),
    );
  }
  return findings;
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
    const glob = options.allowProtected ? null : protectingGlob(path, options.protectedPaths);
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
  findings.push(...fileFindings(patch, options, maxBytes));
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
