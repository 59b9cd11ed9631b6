import { SAMPLE_BUGS } from '../fixtures/sample-repo.js';
import type { MessagesRequest, Scenario, ScriptedBlock, ScriptedReply } from '../types.js';
import { EDIT_TOOL } from './fix-loop.js';
import { planUpdate, reply, text, textOf, tool } from './helpers.js';

const v = (path: string) => tool(EDIT_TOOL, { command: 'view', path });
const sh = (command: string) => tool('bash', { command });
const PLAN = (a: string, b: string, c: string) =>
  planUpdate([
    ['Explore the repository', a as 'pending'],
    ['Fix the failing tests', b as 'pending'],
    ['Write notes and verify', c as 'pending'],
  ]);
/** A memory update, sent only when the harness offers the memory tool (the plain baseline does not). */
const mem = (input: Record<string, unknown>): ScriptedBlock => tool('memory', input);

const REPORT_FIXTURE = `${Array.from(
  { length: 420 },
  (_, i) =>
    `#${String(i + 1).padStart(4, '0')} expected row ${i + 1}: score bucket ${(i * 7) % 100}, tags alpha,bravo`,
).join('\n')}\n`;
const TABLE_FIXTURE = `${Array.from(
  { length: 380 },
  (_, i) =>
    `row ${i}: key ${['alpha', 'bravo', 'cedar', 'delta'][i % 4]}-${i}, weight ${(i * 13) % 101}, enabled ${i % 4 !== 0}`,
).join('\n')}\n`;
const DESIGN = `# Design\n\n${Array.from(
  { length: 200 },
  (_, i) =>
    `${i + 1}. The ${['math', 'records', 'strings', 'table'][i % 4]} module keeps its inputs immutable and validates ranges before use (case ${i + 1}).`,
).join('\n')}\n`;
const NOTES = `# Notes\n\n${Array.from(
  { length: 120 },
  (_, i) =>
    `- Finding ${i + 1}: module ${['math', 'records', 'strings', 'table'][i % 4]} — ${'the behaviour is documented in the tests; '.repeat(2)}`,
).join('\n')}\n`;

/**
 * The script, one reply per step; heavy steps read hundreds of KB to MB: full test
 * logs, a 1.3 MB log and a 550 KB module read whole, wide greps over 200 vendored files.
 */
const STEPS: ScriptedBlock[][] = [
  [
    text('A large repository with big logs. I will explore before changing anything.'),
    PLAN('in_progress', 'pending', 'pending'),
  ],
  [tool('list_files', { path: '.', depth: 3 })],
  [sh('cat package.json')],
  [v('README.md')],
  [sh("find / -maxdepth 3 -not -path '/proc/*' -not -path '/sys/*' 2>/dev/null")],
  [sh('wc -c data/records.json && cat data/records.json')],
  [sh('wc -l logs/app.log && cat logs/app.log')],
  [tool('search', { pattern: 'function ', path: 'src' })],
  [sh('grep -rn "function" .')],
  [v('src/generated/table.js')],
  [
    v('src/index.js'),
    mem({
      understanding:
        'Make the failing tests pass without changing what they check; src/math.js is the library.',
    }),
  ],
  [v('src/records.js')],
  [v('test/math.test.js')],
  [sh('npm run test:verbose 2>&1')],
  [sh('node scripts/report.js')],
  [sh('grep -rn "require(" .')],
  [tool('search', { pattern: 'average', glob: '*.js' })],
  [v('src/strings.js')],
  [sh('cat vendor/*.js')],
  [sh('ls -laR')],
  [tool('search', { pattern: 'TODO|FIXME' })],
  [PLAN('completed', 'in_progress', 'pending'), sh('npm test 2>&1')],
  [v('src/math.js')],
  [
    text(`Fixing \`${SAMPLE_BUGS[0].buggy}\`.`),
    tool(EDIT_TOOL, {
      command: 'str_replace',
      path: SAMPLE_BUGS[0].file,
      old_str: SAMPLE_BUGS[0].buggy,
      new_str: SAMPLE_BUGS[0].fixed,
    }),
    mem({
      decisions: [
        {
          decision: 'Fix add and average in src/math.js',
          reason: 'the failing tests name them; the tests are right',
        },
      ],
    }),
  ],
  [sh('npm test 2>&1')],
  [
    text(`Fixing \`${SAMPLE_BUGS[1].buggy}\`.`),
    tool(EDIT_TOOL, {
      command: 'str_replace',
      path: SAMPLE_BUGS[1].file,
      old_str: SAMPLE_BUGS[1].buggy,
      new_str: SAMPLE_BUGS[1].fixed,
    }),
  ],
  [sh('npm test -- --test-reporter=spec 2>&1')],
  [
    PLAN('completed', 'completed', 'in_progress'),
    mem({ progress: ['add and average fixed; npm test passes'], next_steps: ['Notes', 'Full verbose run'] }),
  ],
  [sh('npm run test:verbose 2>&1')],
  [v('src/generated/table.js')],
  [sh('grep -n ERROR logs/app.log')],
  [
    tool(EDIT_TOOL, {
      command: 'create',
      path: 'test/fixtures/expected-report.txt',
      file_text: REPORT_FIXTURE,
    }),
  ],
  [sh('node scripts/report.js | diff - test/fixtures/expected-report.txt | head -n 60')],
  [tool(EDIT_TOOL, { command: 'create', path: 'docs/NOTES.md', file_text: NOTES })],
  [v('docs/NOTES.md')],
  [sh('grep -rn "average" .')],
  [sh('cat data/records.json')],
  [
    tool(EDIT_TOOL, {
      command: 'create',
      path: 'test/fixtures/expected-table.txt',
      file_text: TABLE_FIXTURE,
    }),
  ],
  [tool('list_files', { path: 'src' })],
  [sh('head -c 300000 logs/app.log')],
  [
    tool(EDIT_TOOL, {
      command: 'str_replace',
      path: 'README.md',
      old_str: 'Run `npm test`.',
      new_str: 'Run `npm test`. See docs/NOTES.md.',
    }),
  ],
  [sh('npm run test:verbose 2>&1')],
  [tool(EDIT_TOOL, { command: 'create', path: 'docs/DESIGN.md', file_text: DESIGN })],
  [sh('ls -laR')],
  [tool('search', { pattern: 'module.exports' })],
  [sh('npm test 2>&1')],
  [
    PLAN('completed', 'completed', 'completed'),
    mem({ next_steps: [], progress: ['Notes written; verbose run passes'] }),
  ],
];

const MARK = /⟨step (\d+)⟩/g;

/** The last step done, read from the markers in the history (kept through a summary, which repeats it). */
function lastStep(request: MessagesRequest): number {
  let last = 0;
  for (const m of request.messages)
    for (const hit of textOf(m.content).matchAll(MARK)) last = Math.max(last, Number(hit[1]));
  return last;
}

function next(request: MessagesRequest, steps: ScriptedBlock[][] = STEPS): ScriptedReply {
  const done = lastStep(request);
  // A compaction's summary request (no tools allowed): a summary that keeps the step marker.
  if (request.tool_choice?.type === 'none')
    return reply(
      text(
        `Summary ⟨step ${done}⟩: explored the repository (big log, generated table, vendored helpers), fixed add and average in src/math.js, writing notes and verifying.`,
      ),
    );
  const offered = new Set((request.tools ?? []).map((t) => t.name));
  if (done >= steps.length)
    return {
      content: [
        tool('finish', {
          summary:
            'Fixed add and average in src/math.js; notes in docs/NOTES.md; the full and verbose test runs pass.',
        }),
      ],
    };
  const blocks = (steps[done] as ScriptedBlock[]).filter((b) => b.type !== 'tool_use' || offered.has(b.name));
  return reply(text(`⟨step ${done + 1}⟩`), ...blocks);
}

/** 47 steps plus finish on writeHeavyTrajectoryRepo: the heavy token benchmark's workload. */
export const heavyTrajectoryScenario: Scenario = {
  name: 'heavy-trajectory',
  description:
    'About 46 turns on the heavy repo: outputs of hundreds of KB to MB (full test logs, a 1.3 MB log and a 550 KB module read whole, wide greps), memory updates when offered; survives compaction (step markers).',
  respond: (request) => next(request),
};

/** A small seeded generator (mulberry32): the same seed gives the same trajectory. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Other trajectories of the same kind, to check that a context policy is not fitted to
 * the one script: 40 steps (the held-out length) drawn from the same three phases
 * (exploration, the fixes in their order, notes and verification) with a seeded shuffle
 * inside each phase, so heavy outputs, views of the generated module and large file writes
 * fall on other turns and next to other neighbours.
 */
export function heavyTrajectoryVariant(seed: number, length = 40): Scenario {
  const random = seeded(seed);
  const explore = STEPS.slice(1, 21);
  const fix = STEPS.slice(21, 27);
  const finish = STEPS.slice(27);
  const room = length - 1 - fix.length;
  const keptExplore = Math.min(explore.length, Math.round(room * 0.45));
  const steps = [
    STEPS[0] as ScriptedBlock[],
    ...shuffled(explore, random).slice(0, keptExplore),
    ...fix,
    ...shuffled(finish, random).slice(0, room - keptExplore),
  ];
  return {
    name: `heavy-trajectory-variant-${seed}`,
    description: `A ${steps.length}-step reshuffle of heavy-trajectory (seed ${seed}).`,
    respond: (request) => next(request, steps),
  };
}
