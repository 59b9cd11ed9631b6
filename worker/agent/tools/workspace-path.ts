import { posix } from 'node:path';
import type { Sandbox } from '../../sandbox/sandbox.js';

export type ResolvedPath =
  | {
      ok: true;
      absolute: string;
      relative: string;
      exists: boolean;
      kind: 'file' | 'directory' | 'other' | 'missing';
      /** Size of a regular file; 0 otherwise. */
      sizeBytes: number;
    }
  | { ok: false; error: string };

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/**
 * Resolves a model-given path to an absolute path inside the workspace. The threat: a
 * path such as `../../etc/passwd`, an absolute path elsewhere, or a symlink the agent
 * planted (`ln -s / escape`) that makes a read or a write land outside the workspace.
 * The lexical check stops the first two; `realpath -m`, run inside the sandbox where
 * the links live, stops the third (every existing component is resolved).
 */
export async function resolveWorkspacePath(
  sandbox: Sandbox,
  path: string,
  signal?: AbortSignal,
): Promise<ResolvedPath> {
  const root = posix.normalize(sandbox.workdir);
  if (path.includes('\0')) return { ok: false, error: 'The path contains a NUL character.' };
  const lexical = posix.normalize(posix.isAbsolute(path) ? path : posix.join(root, path));
  if (!isInside(root, lexical))
    return { ok: false, error: `${path} is outside the workspace (${root}); use a path relative to it.` };
  const out = await sandbox.exec({
    cmd: [
      'bash',
      '-c',
      'r=$(realpath -m -- "$1") || exit 2; realpath -m -- "$2" || exit 2; printf "%s\\n" "$r"; if [ -d "$r" ]; then echo directory; elif [ -f "$r" ]; then echo file; elif [ -e "$r" ]; then echo other; else echo missing; fi; if [ -f "$r" ]; then stat -c %s -- "$r"; else echo 0; fi',
      'pw-resolve',
      lexical,
      root,
    ],
    timeoutMs: 15_000,
    maxOutputBytes: 16 * 1024,
    signal,
  });
  if (out.exitCode !== 0) return { ok: false, error: `Cannot resolve ${path}: ${out.stderr.trim()}` };
  // The root is resolved too: a workspace mounted under a symlinked folder is still itself.
  const [realRoot = root, real = '', kind = 'missing', size = '0'] = out.stdout
    .trimEnd()
    .split('\n')
    .slice(-4);
  if (!isInside(realRoot, real))
    return { ok: false, error: `${path} resolves (through a symlink) to ${real}, outside the workspace.` };
  const relative = posix.relative(realRoot, real) || '.';
  return {
    ok: true,
    absolute: real,
    relative,
    exists: kind !== 'missing',
    kind: kind as 'file' | 'directory' | 'other' | 'missing',
    sizeBytes: Number.parseInt(size, 10) || 0,
  };
}
