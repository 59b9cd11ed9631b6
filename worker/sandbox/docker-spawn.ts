import { randomBytes } from 'node:crypto';
import { type Duplex, PassThrough, type Writable } from 'node:stream';
import type Docker from 'dockerode';
import { PullwrightError } from '../../src/errors.js';
import { killProcessTree } from './container-processes.js';
import { AGENT_USER } from './container-spec.js';
import { DockerStreamDemuxer, type StreamSink } from './docker-stream.js';
import type { SandboxProcess } from './sandbox.js';
import { EXEC_MARKER_VAR } from './sandbox-scripts.js';

export interface SpawnInput {
  cmd: string[];
  env: string[];
  cwd: string;
}

/**
 * A sink that forwards demultiplexed bytes into a readable stream and pauses the
 * Docker connection while the reader is behind, so a slow consumer (a tar written
 * to disk, an MCP client) costs neither memory nor lost bytes.
 */
function streamSink(target: PassThrough, source: Duplex): StreamSink {
  let waiting = false;
  return {
    push(chunk: Buffer) {
      // One frame chunk may hold several frames: wait for one drain, not one per frame.
      if (!target.write(Buffer.from(chunk)) && !waiting) {
        waiting = true;
        source.pause();
        target.once('drain', () => {
          waiting = false;
          source.resume();
        });
      }
    },
  };
}

/**
 * Starts one long-lived process as the agent user with its stdin, stdout and stderr
 * as streams (MCP stdio servers, the exec server, tar streams of environment
 * snapshots). No output cap here: the caller reads as it goes and owns its own
 * bounds. `kill()` kills the whole tree by the exec's marker, like a timed-out exec.
 */
export async function dockerSpawn(container: Docker.Container, input: SpawnInput): Promise<SandboxProcess> {
  const marker = randomBytes(9).toString('hex');
  const exec = await container.exec({
    Cmd: input.cmd,
    Env: [...input.env, `${EXEC_MARKER_VAR}=${marker}`],
    WorkingDir: input.cwd,
    User: AGENT_USER,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const stream: Duplex = await exec.start({ hijack: true, stdin: true });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const demux = new DockerStreamDemuxer(streamSink(stdout, stream), streamSink(stderr, stream));
  // stdin: writes go to the process; end() half-closes the connection, which the
  // process sees as end of input.
  const stdin = new PassThrough();
  let stdinWaiting = false;
  stdin.on('data', (chunk: Buffer) => {
    if (!stream.write(chunk) && !stdinWaiting) {
      stdinWaiting = true;
      stdin.pause();
      stream.once('drain', () => {
        stdinWaiting = false;
        stdin.resume();
      });
    }
  });
  stdin.on('end', () => stream.end());
  stdin.on('error', () => undefined);
  stream.on('data', (chunk: Buffer) => demux.write(chunk));

  const closed = new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      stdout.end();
      stderr.end();
      resolve();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
  let killed = false;
  const exited = closed.then(async () => {
    try {
      let info = await exec.inspect();
      for (let i = 0; i < 50 && info.Running; i++) {
        await new Promise((r) => setTimeout(r, 20));
        info = await exec.inspect();
      }
      return info.Running || killed ? null : info.ExitCode;
    } catch {
      return null;
    }
  });
  let killing: Promise<void> | undefined;
  return {
    stdin: stdin as Writable,
    stdout,
    stderr,
    exited,
    kill() {
      killing ??= (async () => {
        killed = true;
        const ok = await killProcessTree(container, marker).catch(() => false);
        if (!ok) stream.destroy();
        // The connection closes once the process is gone; do not wait forever for it.
        const timer = setTimeout(() => stream.destroy(), 2_000);
        await closed;
        clearTimeout(timer);
      })();
      return killing;
    },
  };
}

export function assertSpawnable(cmd: string[]): void {
  if (cmd.length === 0) throw new PullwrightError('input_invalid', 'Empty command.');
}
