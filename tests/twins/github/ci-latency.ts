/**
 * Measures the scripted CI: push → `workflow_run.completed` (all webhooks delivered), 5 pushes each, for a
 * trivial command and for a scripted outcome. Run: `npx tsx tests/twins/github/ci-latency.ts`.
 */
import { startGitHubTwin } from './index.js';

const twin = await startGitHubTwin({ ci: true });
twin.seed.user({ login: 'a' });
await twin.seed.repo({
  owner: 'a',
  name: 'r',
  files: { '.twin-ci.json': JSON.stringify({ command: 'true' }) },
});
twin.seed.installation({ account: 'a' });
const cmd: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await twin.actions.pushFiles({ repo: 'a/r', branch: 'b', files: { [`f${i}`]: 'x' }, sender: 'a' });
  await twin.ci.idle();
  cmd.push(performance.now() - t);
}
twin.ci.outcome({ repo: 'a/r', branch: 'c', job: 'test', outcomes: ['failure'] });
await twin.seed.branch({
  repo: 'a/r',
  branch: 'c',
  files: { '.twin-ci.json': '{"command":"true","name":"test"}' },
});
const scripted: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await twin.actions.pushFiles({ repo: 'a/r', branch: 'c', files: { [`g${i}`]: 'x' }, sender: 'a' });
  await twin.ci.idle();
  scripted.push(performance.now() - t);
}
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0);
console.log(
  `push→CI completed (command 'true'): p50 ${p50(cmd)} ms  [${cmd.map((x) => x.toFixed(0)).join(', ')}]`,
);
console.log(
  `push→CI completed (scripted outcome): p50 ${p50(scripted)} ms  [${scripted.map((x) => x.toFixed(0)).join(', ')}]`,
);
await twin.close();
