import type { MessagesRequest, Scenario, ScriptedBlock, ScriptedReply } from '../types.js';
import { EDIT_TOOL } from './fix-loop.js';
import { reply, text, textOf, tool } from './helpers.js';

const sh = (command: string) => tool('bash', { command });
const mem = (input: Record<string, unknown>): ScriptedBlock => tool('memory', input);

/**
 * A short run that fills the context fast (a 200 KB file read again and again), keeps
 * its session memory through the memory tool and edits one file: with small clearing
 * and compaction thresholds it triggers several clearing batches and a summary in 14
 * turns. On `memoryClearingRepo` files: `big.txt`, `greet.js`. Progress is read from
 * step markers, so a summary (which repeats the marker) does not restart it.
 */
const STEPS: ScriptedBlock[][] = [
  [
    mem({
      understanding: 'greet() must say "Hello, <name>!" instead of "Hi <name>"',
      next_steps: ['Read greet.js', 'Fix it'],
    }),
    sh('cat big.txt'),
  ],
  [sh('wc -c big.txt && cat big.txt')],
  [tool(EDIT_TOOL, { command: 'view', path: 'big.txt' })],
  [sh('grep -n line big.txt')],
  [
    tool(EDIT_TOOL, {
      command: 'str_replace',
      path: 'greet.js',
      old_str: `\`Hi \${name}\``,
      new_str: `\`Hello, \${name}!\``,
    }),
    mem({
      decisions: [
        { decision: 'Change the template literal only', reason: 'callers pass the name already trimmed' },
      ],
    }),
  ],
  [sh('cat big.txt')],
  [sh("node -e \"console.log(require('./greet.js').greet('Ada'))\"")],
  [sh('tac big.txt')],
  [sh('cat big.txt')],
  [mem({ progress: ['greet fixed and checked with node'], next_steps: ['Final check'] })],
  [sh('sort big.txt')],
  [sh('cat big.txt')],
  [sh("node -e \"console.log(require('./greet.js').greet('Grace'))\"")],
];

const MARK = /⟨step (\d+)⟩/g;

function lastStep(request: MessagesRequest): number {
  let last = 0;
  for (const m of request.messages)
    for (const hit of textOf(m.content).matchAll(MARK)) last = Math.max(last, Number(hit[1]));
  return last;
}

function next(request: MessagesRequest): ScriptedReply {
  const done = lastStep(request);
  if (request.tool_choice?.type === 'none')
    return reply(
      text(
        `Summary ⟨step ${done}⟩: read big.txt several times, fixed the greeting in greet.js, checked it with node.`,
      ),
    );
  if (done >= STEPS.length)
    return { content: [tool('finish', { summary: 'greet() now says "Hello, <name>!".' })] };
  return reply(text(`⟨step ${done + 1}⟩`), ...(STEPS[done] as ScriptedBlock[]));
}

export const memoryClearingScenario: Scenario = {
  name: 'memory-clearing',
  description:
    'Reads a 200 KB file again and again, keeps a session memory, edits greet.js: triggers clearing batches and a summary under small thresholds.',
  respond: next,
};

/** The files memory-clearing works on. */
export function memoryClearingRepo(): Record<string, string> {
  const lines = Array.from(
    { length: 2000 },
    (_, i) => `line ${i}: ${'lorem ipsum dolor sit amet '.repeat(2)}`,
  );
  return {
    'big.txt': `${lines.join('\n')}\n`,
    'greet.js': `'use strict';\nfunction greet(name) {\n  return \`Hi \${name}\`;\n}\nmodule.exports = { greet };\n`,
  };
}
