import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { ExecOptions, ExecResult, Sandbox } from '../../../worker/sandbox/sandbox.js';

/**
 * A Sandbox that runs commands as host processes in a temp directory, for the loop's
 * integration tests against the model twin (the real tools, real processes, no
 * container). Test code only: it isolates nothing. The bare environment keeps the
 * test process's variables (keys) away from the commands all the same.
 */
export function createLocalSandbox(root: string): Sandbox {
  const abs = (p: string) => (isAbsolute(p) ? p : join(root, p));
  return {
    id: `local-${root}`,
    workdir: root,
    exec(options: ExecOptions): Promise<ExecResult> {
      const started = Date.now();
      const [file, ...args] = Array.isArray(options.cmd) ? options.cmd : ['bash', '-lc', options.cmd];
      const cap = options.maxOutputBytes ?? 4 * 1024 ** 2;
      return new Promise((resolve) => {
        const child = spawn(file as string, args, {
          cwd: options.cwd ? abs(options.cwd) : root,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: root,
            LANG: 'C.UTF-8',
            // HOME is a fresh folder, so npm would fetch its registry entry to look for a newer npm on the
            // first `npm test`: a network call from a test, a CPU-second, and a notice in the model's input.
            npm_config_update_notifier: 'false',
            ...options.env,
          },
          detached: true,
        });
        let stdout = '';
        let stderr = '';
        let timedOut = false;
        const kill = () => {
          try {
            if (child.pid) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        };
        const timer = setTimeout(() => {
          timedOut = true;
          kill();
        }, options.timeoutMs ?? 120_000);
        options.signal?.addEventListener('abort', kill, { once: true });
        child.stdout.on('data', (d: Buffer) => {
          if (stdout.length < cap) stdout += d.toString('utf8');
        });
        child.stderr.on('data', (d: Buffer) => {
          if (stderr.length < cap) stderr += d.toString('utf8');
        });
        // A missing program is an answer, as in a container (`command not found`, 127), not a hang.
        child.on('error', (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', kill);
          resolve({
            exitCode: err.code === 'ENOENT' ? 127 : 126,
            stdout: '',
            stderr: `${file}: ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`,
            stdoutTruncated: false,
            stderrTruncated: false,
            durationMs: Date.now() - started,
            timedOut: false,
            oomKilled: false,
          });
        });
        // A program that exits without reading its input closes the pipe first: EPIPE on this
        // side is its business, not an uncaught error in the test process.
        child.stdin.on('error', () => undefined);
        if (options.stdin !== undefined) child.stdin.end(options.stdin);
        else child.stdin.end();
        child.on('close', (code) => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', kill);
          resolve({
            exitCode: code,
            stdout: stdout.slice(0, cap),
            stderr: stderr.slice(0, cap),
            stdoutTruncated: stdout.length > cap,
            stderrTruncated: stderr.length > cap,
            durationMs: Date.now() - started,
            timedOut,
            oomKilled: false,
          });
        });
      });
    },
    readFile: (p) => readFile(abs(p)),
    async writeFile(p, data) {
      await mkdir(dirname(abs(p)), { recursive: true });
      await writeFile(abs(p), data);
    },
    blockedConnections: async () => [],
    dispose: async () => {},
  };
}
