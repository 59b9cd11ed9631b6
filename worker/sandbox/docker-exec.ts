import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { PullwrightError } from '../../src/errors.js';
import { AGENT_USER, STARTUP_FILE_VARS } from './container-spec.js';
import { CappedBuffer, DockerStreamDemuxer } from './docker-stream.js';
import { EXEC_MARKER_VAR } from './sandbox-scripts.js';

export interface RawExecInput {
  cmd: string[];
  env?: string[];
  cwd?: string;
  stdin?: Buffer;
  maxOutputBytes: number;
}

export interface RawExecOutput {
  exitCode: number | null;
  stdout: CappedBuffer;
  stderr: CappedBuffer;
}

/**
 * `KEY=value` list for an exec; refuses names a shell would not accept, the marker we own
 * and the startup-file variables (they would run a file from the writable HOME first).
 */
export function execEnv(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || k === EXEC_MARKER_VAR || STARTUP_FILE_VARS.includes(k))
      throw new PullwrightError('input_invalid', `Invalid environment variable name: ${k}`);
    return `${k}=${v}`;
  });
}

/**
 * Runs one docker exec as the agent user and collects its demultiplexed output.
 * `stop` (when it fires) gives the command a moment to be killed by the caller, then
 * drops the connection: a background process still holding stdout must not keep us waiting.
 */
export async function rawExec(
  container: Docker.Container,
  input: RawExecInput,
  stop?: AbortSignal,
): Promise<RawExecOutput> {
  const exec = await container.exec({
    Cmd: input.cmd,
    Env: input.env,
    WorkingDir: input.cwd,
    User: AGENT_USER,
    AttachStdin: input.stdin !== undefined,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const stream: Duplex = await exec.start({ hijack: true, stdin: input.stdin !== undefined });
  const stdout = new CappedBuffer(input.maxOutputBytes);
  const stderr = new CappedBuffer(input.maxOutputBytes);
  const demux = new DockerStreamDemuxer(stdout, stderr);
  let poll: NodeJS.Timeout | undefined;
  let grace: NodeJS.Timeout | undefined;
  const onStop = () => {
    grace = setTimeout(() => stream.destroy(), 5_000);
  };
  try {
    await new Promise<void>((resolvePromise, reject) => {
      stream.on('data', (chunk: Buffer) => demux.write(chunk));
      stream.on('end', () => resolvePromise());
      stream.on('close', () => resolvePromise());
      stream.on('error', (err) => {
        if (stream.destroyed) resolvePromise();
        else reject(err);
      });
      if (stop) {
        if (stop.aborted) onStop();
        else stop.addEventListener('abort', onStop, { once: true });
      }
      if (input.stdin !== undefined) stream.end(input.stdin);
      // The stream stays open while any descendant holds stdout (`server &`); once the
      // command itself has exited, stop waiting for those.
      let checking = false;
      poll = setInterval(() => {
        if (checking) return;
        checking = true;
        exec
          .inspect()
          .then((info) => {
            if (!info.Running) setTimeout(() => stream.destroy(), 200);
          })
          .catch(() => undefined)
          .finally(() => {
            checking = false;
          });
      }, 1_000);
    });
  } finally {
    clearInterval(poll);
    clearTimeout(grace);
    stop?.removeEventListener('abort', onStop);
  }
  let info = await exec.inspect();
  for (let i = 0; i < 50 && info.Running; i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await exec.inspect();
  }
  return { exitCode: info.Running ? null : info.ExitCode, stdout, stderr };
}
