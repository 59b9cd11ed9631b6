import { redactText } from '../../src/logger.js';
import type { Sandbox } from '../sandbox/sandbox.js';

/** One command the session ran for the repository (setup or verify). */
export interface CommandResult {
  command: string;
  /** null when the command was killed (timeout, OOM, abort). */
  exitCode: number | null;
  ok: boolean;
  timedOut: boolean;
  durationMs: number;
  /** The end of stdout then stderr, capped at OUTPUT_TAIL_CHARS, secrets scrubbed. */
  outputTail: string;
}

export const COMMAND_TIMEOUT_MS = 15 * 60_000;
export const OUTPUT_TAIL_CHARS = 2_000;

/** The last OUTPUT_TAIL_CHARS of `output`, with the run's secrets scrubbed. */
export function outputTail(output: string, secrets: string[]): string {
  return redactText(output.slice(-OUTPUT_TAIL_CHARS), secrets);
}

/** Runs one of the repository's commands (a shell string) and reports it as data. */
export async function runCommand(
  sandbox: Sandbox,
  command: string,
  signal: AbortSignal,
  secrets: string[],
  /** Only the setup container ever gets one (setup-only secrets). */
  env?: Record<string, string>,
): Promise<CommandResult> {
  const run = await sandbox.exec({ cmd: command, timeoutMs: COMMAND_TIMEOUT_MS, signal, env });
  return {
    command,
    exitCode: run.exitCode,
    ok: run.exitCode === 0 && !run.timedOut,
    timedOut: run.timedOut,
    durationMs: run.durationMs,
    outputTail: outputTail(`${run.stdout}${run.stderr}`, secrets),
  };
}
