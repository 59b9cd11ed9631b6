/**
 * `npm run demo`: the main job, end to end, on this machine. Starts the GitHub
 * twin with a sample repository and issue, the model twin (or the real Anthropic
 * API when ANTHROPIC_API_KEY is set), the app and a worker; assigns the issue to
 * the app's bot; and prints the pull request, its diff, the tracking comment and the
 * run page's URL (DEMO_KEEP=1 keeps the stack up to open it).
 */
import { createLogger } from '../src/logger.js';
import { DEMO_ISSUE, startLocalStack } from './local-stack.js';

const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'pullwright-demo' });
const say = (text = '') => process.stdout.write(`${text}\n`);
const started = Date.now();

const stack = await startLocalStack({ log, anthropicApiKey: process.env.ANTHROPIC_API_KEY });
let exitCode = 0;
try {
  const { github, repo } = stack;
  say(`GitHub twin:  ${github.url}  (repository ${repo})`);
  say(`Model:        ${stack.model ? `model twin ${stack.model.url} (scripted agent)` : 'Anthropic API'}`);
  say(`App:          ${stack.app.url}  (webhooks, /healthz, /metrics)`);
  const { number } = github.seed.issue({
    repo,
    title: DEMO_ISSUE.title,
    body: DEMO_ISSUE.body,
    author: 'alice',
  });
  say(`\nIssue #${number}: ${DEMO_ISSUE.title}`);
  say(`Assigning it to ${github.app.botLogin} …`);
  const { delivery } = await github.actions.assignIssue({
    repo,
    number,
    assignee: github.app.botLogin,
    sender: 'alice',
  });
  say(`Webhook delivered: HTTP ${delivery.status}`);

  const deadline = Date.now() + 5 * 60_000;
  let pull = github.inspect.pulls(repo)[0];
  let lastStep = '';
  while (!pull && Date.now() < deadline) {
    const tracking = github.inspect
      .comments(repo, number)
      .find((c) => c.body.includes('pullwright:tracking'));
    const step = tracking?.body.split('\n')[1] ?? '';
    if (step && step !== lastStep) {
      say(`  ${step.replace(/^### /, '')}`);
      lastStep = step;
    }
    if (tracking && /Failed|refused|Cancelled|without changes/.test(tracking.body)) break;
    await new Promise((r) => setTimeout(r, 500));
    pull = github.inspect.pulls(repo)[0];
  }
  await new Promise((r) => setTimeout(r, 2_500));
  const tracking = github.inspect.comments(repo, number).find((c) => c.body.includes('pullwright:tracking'));
  if (!pull) {
    exitCode = 1;
    say('\nNo pull request was opened. The tracking comment says:\n');
    say(tracking?.body ?? '(no tracking comment)');
  } else {
    say(`\n=== Pull request #${pull.number}: ${pull.title} (${pull.head} → ${pull.base}) ===\n`);
    say(pull.body);
    say('\n=== Diff ===\n');
    say(await github.inspect.diff(repo, pull.number));
    say('=== Tracking comment on the issue ===\n');
    say(tracking?.body ?? '(none)');
    // The run page (issue 16): the tracking comment links it; sign in on the twin as alice.
    const runUrl = /\[Run log\]\((\S+)\)/.exec(tracking?.body ?? '')?.[1];
    if (runUrl) {
      say(`\nRun page:     ${runUrl}`);
      say('              (sign in through the GitHub twin as alice)');
      if (process.env.DEMO_KEEP) {
        say('DEMO_KEEP is set: the stack stays up until Ctrl-C.');
        await new Promise((resolve) => process.once('SIGINT', resolve));
      }
    }
    say(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  }
} catch (err) {
  exitCode = 1;
  log.error({ err }, 'Demo failed');
  say(`Demo failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await stack.close();
}
process.exit(exitCode);
