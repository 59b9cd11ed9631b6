import { parseArgs } from 'node:util';
import { createLogger, createSilentLogger } from '../../src/logger.js';
import {
  budgetFlags,
  describeEvent,
  positiveNumber,
  reportFailure,
  SHARED_OPTIONS,
  UsageError,
  withInterrupts,
} from './main.js';

export const EVAL_USAGE = `Usage: pullwright eval --repo <path> [--limit N] [--json] [options]

Measures the agent on your repository's own history. Picks fixes (commits and merged pull
requests that change both code and tests, newest first); for each, checks that its tests fail
without the fix and pass with it, runs the agent in a Docker sandbox from the fix's parent with
the commit message as the task (the test changes withheld), then applies the fix's test changes
to the agent's result and runs them. Reports solved or not, turns, tokens, cost and time per
task and in total, and writes a JSON report. Your checkout is not touched.

Options:
  --repo <path>          the local git repository (default: the current folder)
  --limit <n>            how many fixes to try (default 5)
  --test-command <cmd>   how to run the tests (default: verify in .github/pullwright.yml)
  --out <path>           where to write the JSON report
                         (default <git dir>/pullwright/eval/<timestamp>.json)
  --json                 print the report as JSON on stdout
  --model <name>         model name (default PULLWRIGHT_MODEL)
  --max-turns <n>        turn budget per task (default MAX_TURNS)
  --max-cost <usd>       cost budget per task in USD (default MAX_COST_USD)
  --max-minutes <n>      wall-time budget per task (default MAX_WALL_MINUTES)
  --verbose              log progress to stderr
  -h, --help             show this help

Environment: ANTHROPIC_API_KEY (required), ANTHROPIC_BASE_URL, PULLWRIGHT_MODEL,
SANDBOX_IMAGE, MAX_TURNS, MAX_COST_USD, MAX_WALL_MINUTES; GITHUB_TOKEN (optional, read access:
with an origin on GitHub, a merged pull request's task is the issue it closed).`;

/** `pullwright eval`. Exit codes: 0 the evaluation ran (whatever it solved), 1 it failed, 2 bad usage or setup, 130 cancelled. */
export async function mainEval(argv: string[]): Promise<number> {
  // Known before parsing, so even an unknown option is reported as JSON when --json was asked for.
  let json = argv.includes('--json');
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        repo: { type: 'string' },
        limit: { type: 'string' },
        'test-command': { type: 'string' },
        out: { type: 'string' },
        ...SHARED_OPTIONS,
      },
      strict: true,
      allowPositionals: false,
    });
    json = values.json === true;
    if (values.help) {
      process.stdout.write(`${EVAL_USAGE}\n`);
      return 0;
    }
    return await withInterrupts(async (signal) => {
      const { runEval } = await import('../eval/run-eval.js');
      const { formatEvalReport } = await import('../eval/eval-report.js');
      const progress = values.verbose || !json;
      const report = await runEval({
        repo: values.repo ?? process.cwd(),
        limit: positiveNumber('--limit', values.limit, true) ?? 5,
        testCommand: values['test-command'],
        reportPath: values.out,
        model: values.model,
        ...budgetFlags(values),
        signal,
        log: values.verbose
          ? createLogger({ name: 'pullwright-eval', level: 'info', destination: process.stderr })
          : createSilentLogger(),
        onEvent: progress
          ? (event) => {
              if (event.type === 'task') {
                process.stderr.write(
                  `\n[${event.index + 1}/${event.total}] ${event.task.sha.slice(0, 10)} ${event.task.subject}\n`,
                );
                return;
              }
              const line = values.verbose ? describeEvent(event) : null;
              if (line) process.stderr.write(`${line}\n`);
            }
          : undefined,
      });
      process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatEvalReport(report)}\n`);
      return signal.aborted ? 130 : 0;
    });
  } catch (err) {
    if (err instanceof TypeError && /Unknown option|argument/i.test(err.message))
      return reportFailure(new UsageError(err.message), json, EVAL_USAGE);
    return reportFailure(err, json, EVAL_USAGE);
  }
}
