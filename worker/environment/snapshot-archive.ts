import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PullwrightError } from '../../src/errors.js';
import { SANDBOX_HOME, SANDBOX_WORKDIR } from '../sandbox/container-spec.js';
import type { Sandbox, SandboxProcess } from '../sandbox/sandbox.js';
import { ArchiveSecretScanner } from './archive-secret-scanner.js';

/**
 * Packing and unpacking an environment, always inside a container as the agent
 * user: the host only moves opaque bytes between a container and a file.
 *
 * Workspace: every untracked path (ignored or not: `node_modules`, `.venv`,
 * `target`, generated files), listed by the container's own git; `.git` and
 * tracked files are never in it (the next run checks its own commit out).
 * HOME: everything setup left there except download caches an installer never
 * reads again (they only cost restore time).
 */
const CAPTURE_WORKSPACE = 'git ls-files -z --others --directory | tar -c -f - --null --no-unquote -T -';
const HOME_EXCLUDES = ['./.npm/_cacache', './.npm/_logs', './.cache/pip', './.cache/yarn', './.cache/pnpm'];
const CAPTURE_HOME = `tar -c -f - -C ${SANDBOX_HOME} ${HOME_EXCLUDES.map((e) => `--exclude=${e}`).join(' ')} .`;
const RESTORE = (dir: string) => `tar -x -f - -C ${dir}`;
/**
 * Archives up to this size are unpacked by one `exec` with the archive as stdin: in the
 * agent's container that is one request to its exec server, several times faster than
 * streaming through a Docker exec's attached stdin. Bigger ones are streamed (`spawn`),
 * so neither side ever holds a large archive in memory.
 */
export const RESTORE_IN_ONE_EXEC_BYTES = 8 * 1024 * 1024;
/** A restore that takes longer than this is stuck, not slow. */
const RESTORE_TIMEOUT_MS = 10 * 60_000;

export type CaptureResult =
  | { ok: true; bytes: number }
  | { ok: false; reason: 'too-large' | 'secret' | 'failed'; detail: string };

/** The scanner of a snapshot's archives (raw bytes and gzip content); the old name stays for callers. */
export { ArchiveSecretScanner as SecretScanner, secretForms } from './archive-secret-scanner.js';

async function collect(proc: SandboxProcess, cap = 8192): Promise<string> {
  let out = '';
  for await (const chunk of proc.stderr) if (out.length < cap) out += (chunk as Buffer).toString('utf8');
  return out.slice(0, cap);
}

async function captureOne(
  box: Sandbox,
  cmd: string,
  file: string,
  budget: { left: number },
  secrets: readonly string[],
): Promise<CaptureResult> {
  if (!box.spawn) throw new PullwrightError('sandbox_failed', 'This sandbox cannot stream a snapshot.');
  const proc = await box.spawn({ cmd, cwd: SANDBOX_WORKDIR });
  proc.stdin.end();
  const errors = collect(proc);
  const scanner = new ArchiveSecretScanner(secrets);
  let bytes = 0;
  let tooLarge = false;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > budget.left && !tooLarge) {
        tooLarge = true;
        void proc.kill();
        done(null);
        return;
      }
      done(null, tooLarge ? undefined : chunk);
    },
  });
  await pipeline(proc.stdout, counter, scanner, createWriteStream(file, { mode: 0o600 }));
  const exitCode = await proc.exited;
  const stderr = await errors;
  if (tooLarge) return { ok: false, reason: 'too-large', detail: `over ${budget.left} bytes` };
  // A secret in the archive means setup wrote one down: nothing of it may be kept or shown.
  if (scanner.found) return { ok: false, reason: 'secret', detail: 'the output contains a setup secret' };
  // What could not be scanned is not kept either.
  if (scanner.unscannable) return { ok: false, reason: 'too-large', detail: scanner.unscannable };
  if (exitCode !== 0)
    return { ok: false, reason: 'failed', detail: `tar exited with ${exitCode}: ${stderr.slice(-500)}` };
  budget.left -= bytes;
  return { ok: true, bytes };
}

/**
 * Packs what setup produced from the setup container into `files`, bounded by
 * `maxBytes` and refused when any form of a setup secret appears in it.
 */
export async function captureEnvironment(
  box: Sandbox,
  files: { workspaceTar: string; homeTar: string },
  options: { maxBytes: number; secrets: readonly string[] },
): Promise<CaptureResult> {
  const budget = { left: options.maxBytes };
  const workspace = await captureOne(box, CAPTURE_WORKSPACE, files.workspaceTar, budget, options.secrets);
  if (!workspace.ok) return workspace;
  const home = await captureOne(box, CAPTURE_HOME, files.homeTar, budget, options.secrets);
  if (!home.ok) return home;
  return { ok: true, bytes: workspace.bytes + home.bytes };
}

async function restoreOne(box: Sandbox, file: string, dir: string, signal?: AbortSignal): Promise<void> {
  if ((await stat(file)).size <= RESTORE_IN_ONE_EXEC_BYTES) {
    const r = await box.exec({
      cmd: ['tar', '-x', '-f', '-', '-C', dir],
      cwd: SANDBOX_WORKDIR,
      stdin: await readFile(file),
      timeoutMs: RESTORE_TIMEOUT_MS,
      maxOutputBytes: 8192,
      signal,
    });
    if (r.exitCode !== 0) throw restoreFailed(r.exitCode, r.stderr);
    return;
  }
  if (!box.spawn) throw new PullwrightError('sandbox_failed', 'This sandbox cannot restore a snapshot.');
  const proc = await box.spawn({ cmd: RESTORE(dir), cwd: SANDBOX_WORKDIR, signal });
  const errors = collect(proc);
  proc.stdout.resume();
  await pipeline(createReadStream(file), proc.stdin);
  const exitCode = await proc.exited;
  if (exitCode !== 0) throw restoreFailed(exitCode, await errors);
}

function restoreFailed(exitCode: number | null, stderr: string): PullwrightError {
  return new PullwrightError(
    'sandbox_failed',
    `Restoring the environment failed (tar exited with ${exitCode}).`,
    {
      details: { stderr: stderr.slice(-500) },
    },
  );
}

/**
 * Unpacks an environment into a new container, as the agent user, into its own
 * workspace and HOME: fresh files, no link into the host's copy.
 */
export async function restoreEnvironment(
  box: Sandbox,
  files: { workspaceTar: string; homeTar: string },
  signal?: AbortSignal,
  parts: { workspace: boolean } = { workspace: true },
): Promise<void> {
  // What was unpacked is the environment, not the agent's growth of the workspace: the
  // baseline is measured once the workspace part is in (HOME is a tmpfs the bound does not
  // measure), while HOME may still be unpacking.
  await Promise.all([
    parts.workspace
      ? restoreOne(box, files.workspaceTar, SANDBOX_WORKDIR, signal).then(() => box.resetDiskBaseline?.())
      : undefined,
    restoreOne(box, files.homeTar, SANDBOX_HOME, signal),
  ]);
  if (!parts.workspace) await box.resetDiskBaseline?.();
}
