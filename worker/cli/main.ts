import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/config/env.js';
import { isPullwrightError } from '../../src/errors.js';
import { createLogger, createSilentLogger, redactText } from '../../src/logger.js';
import type { SessionEvent } from '../session/run-agent-session.js';
import type { LocalRunResult } from './local-run-result.js';

const USAGE = `Usage: pullwright run --repo <path> --task "<text>" [options]
       pullwright eval --repo <path> [--limit N] [--json] [options]   (pullwright eval --help)

Runs the Pullwright agent on a local git repository inside a Docker sandbox and
leaves its change on a new branch pullwright/run-<timestamp> of that repository.
Your checkout and working tree are not touched.

Options:
  --repo <path>       the local git repository (default: the current folder)
  --task <text>       what to do (or --task-file <path>)
  --task-file <path>  read the task from a file
  --json              print one JSON object (see worker/cli/README.md)
  --model <name>      model name (default PULLWRIGHT_MODEL)
  --max-turns <n>     turn budget (default MAX_TURNS)
  --max-cost <usd>    cost budget in USD (default MAX_COST_USD)
  --max-minutes <n>   wall-time budget (default MAX_WALL_MINUTES)
  --verbose           log progress to stderr
  -h, --help          show this help

Environment: ANTHROPIC_API_KEY (required), ANTHROPIC_BASE_URL, PULLWRIGHT_MODEL,
SANDBOX_IMAGE, MAX_TURNS, MAX_COST_USD, MAX_WALL_MINUTES.`;

/** Exit codes: 0 done (or nothing to change), 1 the run failed or hit a limit, 2 bad usage or setup, 130 cancelled. */
export function exitCodeFor(result: LocalRunResult): number {
  if (result.outcome === 'completed' || result.outcome === 'no-changes') return 0;
  if (result.outcome === 'cancelled') return 130;
  return 1;
}

export function positiveNumber(
  name: string,
  value: string | undefined,
  integer: boolean,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new UsageError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  return n;
}

export class UsageError extends Error {}

const PHASE_LINES = {
  setup: 'Running the setup command',
  sandbox: 'Starting the sandbox',
  agent: 'The agent is working',
  verify: 'Running the verify commands',
} as const;

export function describeEvent(event: SessionEvent): string | null {
  switch (event.type) {
    case 'phase':
      return PHASE_LINES[event.phase];
    case 'setup-failed':
      return `The setup command exited with ${event.exitCode ?? 'a kill'}; the agent runs anyway.`;
    case 'tool':
      return `${event.isError ? '✗' : '·'} ${event.summary.slice(0, 150)}`;
    case 'plan':
      return `plan: ${event.items.map((i) => `[${i.status === 'completed' ? 'x' : i.status === 'in_progress' ? '~' : ' '}] ${i.step}`).join('  ')}`;
    case 'status':
      return event.message;
    default:
      return null;
  }
}

export function formatHuman(r: LocalRunResult): string {
  const lines = [`Outcome: ${r.outcome}${r.limit ? ` (${r.limit} limit)` : ''}`];
  if (r.error) lines.push(`Error: ${r.error.message} [${r.error.code}]`);
  if (r.branch) {
    lines.push(`Branch: ${r.branch} (commit ${r.commit?.slice(0, 12)})`);
    lines.push(`Files changed (${r.stats.files}, +${r.stats.additions} -${r.stats.deletions}):`);
    for (const f of r.filesChanged) lines.push(`  ${f}`);
  } else {
    lines.push('Branch: none (no change kept)');
  }
  for (const v of r.verify)
    lines.push(
      `Verify: ${v.ok ? 'ok' : 'FAILED'} ${v.command}${v.ok ? '' : ` (${v.timedOut ? 'timed out' : `exit ${v.exitCode ?? 'killed'}`})`}`,
    );
  if (r.blockedHosts.length > 0) lines.push(`Blocked hosts: ${r.blockedHosts.join(', ')}`);
  lines.push(
    `Turns: ${r.turns}  Duration: ${(r.durationMs / 1000).toFixed(1)} s  Cost: $${r.usage.costUsd.toFixed(4)}`,
    `Tokens: ${r.usage.inputTokens} in, ${r.usage.outputTokens} out, ${r.usage.cacheReadTokens} cache read, ${r.usage.cacheWriteTokens} cache write`,
    `Transcript: ${r.transcriptPath}`,
  );
  for (const n of r.notes) lines.push(`Note: ${n}`);
  if (r.summary) lines.push('', 'Summary:', r.summary);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'eval') {
    // Loaded lazily, like the run: help and usage errors answer without Docker or model clients.
    const { mainEval } = await import('./eval-command.js');
    return mainEval(rest);
  }
  if (command !== 'run') {
    process.stderr.write(`Unknown command: ${command}\n\n${USAGE}\n`);
    return 2;
  }
  let json = false;
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        repo: { type: 'string' },
        task: { type: 'string' },
        'task-file': { type: 'string' },
        ...SHARED_OPTIONS,
      },
      strict: true,
      allowPositionals: false,
    });
    json = values.json === true;
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    let task = values.task;
    if (values['task-file']) {
      const { readFile } = await import('node:fs/promises');
      task = await readFile(values['task-file'], 'utf8').catch(() => {
        throw new UsageError(`Cannot read the task file ${values['task-file']}`);
      });
    }
    if (!task || task.trim() === '') throw new UsageError('--task (or --task-file) is required');
    return await withInterrupts(async (signal) => {
      // Loaded lazily so `--help` and usage errors answer without loading Docker, git and model clients.
      const { runLocal } = await import('./run-local.js');
      const result = await runLocal({
        repo: values.repo ?? process.cwd(),
        task,
        model: values.model,
        ...budgetFlags(values),
        signal,
        // stderr: stdout carries only the result (one JSON object with --json), so logs never corrupt it.
        log: values.verbose
          ? createLogger({ name: 'pullwright-cli', level: 'info', destination: process.stderr })
          : createSilentLogger(),
        onEvent:
          values.verbose || !json
            ? (event) => {
                const line = describeEvent(event);
                if (line) process.stderr.write(`${line}\n`);
              }
            : undefined,
      });
      process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${formatHuman(result)}\n`);
      return exitCodeFor(result);
    });
  } catch (err) {
    return reportFailure(err, json, USAGE);
  }
}

/**
 * Runs `fn` with a signal that the first Ctrl-C (or SIGTERM) aborts; a second one quits at once.
 * The handlers are removed afterwards.
 */
/** The options `pullwright run` and `pullwright eval` share: output, model and budgets. */
export const SHARED_OPTIONS = {
  json: { type: 'boolean', default: false },
  model: { type: 'string' },
  'max-turns': { type: 'string' },
  'max-cost': { type: 'string' },
  'max-minutes': { type: 'string' },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The budget flags, checked (a usage error names the flag). */
export function budgetFlags(values: { 'max-turns'?: string; 'max-cost'?: string; 'max-minutes'?: string }) {
  return {
    maxTurns: positiveNumber('--max-turns', values['max-turns'], true),
    maxCostUsd: positiveNumber('--max-cost', values['max-cost'], false),
    maxWallMinutes: positiveNumber('--max-minutes', values['max-minutes'], false),
  };
}

export async function withInterrupts<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('Cancelling (Ctrl-C again to quit at once)...\n');
    controller.abort(new Error('Cancelled by the user'));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** Clear messages, not stack traces: every expected failure is a typed error. Returns the exit code. */
export function reportFailure(err: unknown, json: boolean, usage: string): number {
  const message =
    err instanceof UsageError || err instanceof ConfigError || isPullwrightError(err)
      ? err.message
      : err instanceof Error
        ? `Unexpected error: ${err.message}`
        : String(err);
  const code = isPullwrightError(err) ? err.code : err instanceof UsageError ? 'usage' : 'internal';
  if (json)
    process.stdout.write(
      `${JSON.stringify({ outcome: 'error', error: { code, message: redactText(message) } })}\n`,
    );
  process.stderr.write(`pullwright: ${redactText(message)}\n`);
  if (err instanceof UsageError) process.stderr.write(`\n${usage}\n`);
  return err instanceof UsageError || isPullwrightError(err) ? 2 : 1;
}

const isEntry =
  process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`pullwright: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
