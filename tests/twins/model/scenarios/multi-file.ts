import type { MessagesRequest, Scenario, ScriptedReply } from '../types.js';
import { EDIT_TOOL, isEdit } from './fix-loop.js';
import { finish, planUpdate, reply, type ToolExchange, text, tool, toolExchanges } from './helpers.js';

const FORMAT_SOURCE = `'use strict';

/** \`value\` rounded to \`digits\` decimals, as a string. */
function formatNumber(value, digits) {
  return value.toFixed(digits);
}

module.exports = { formatNumber };
`;
const INDEX_BEFORE = "module.exports = { ...require('./math.js') };";
const INDEX_AFTER = "module.exports = { ...require('./math.js'), ...require('./format.js') };";
const README_ANCHOR = '## API\n\n';
const README_LINE = '- `formatNumber(value, digits)`: `value` rounded to `digits` decimals, as a string.\n';
const VERIFY = `node -e "console.log(require('./src/index.js').formatNumber(3.14159, 2))"`;

const ok = (e: ToolExchange) => e.result !== undefined && !e.result.isError;
const isView = (e: ToolExchange, path: string) =>
  e.name === EDIT_TOOL && e.input.command === 'view' && e.input.path === path;
const isVerify = (e: ToolExchange) => e.name === 'bash' && e.input.command === VERIFY;

/** The last line number a view printed (numbered or not), so an insert can go at the end. */
function lineCount(viewText: string): number {
  const numbered = [...viewText.matchAll(/^\s*(\d+)[\t:│|]/gm)].map((m) => Number(m[1]));
  if (numbered.length > 0) return Math.max(...numbered);
  return viewText.replace(/\n+$/, '').split('\n').length;
}

/** Edits `path` so it contains `after`: str_replace when the view shows the anchor, else insert at the end. */
function editStep(
  all: ToolExchange[],
  path: string,
  anchor: string,
  after: string,
  appended: string,
): ScriptedReply | 'done' | 'failed' {
  if (all.some((e) => isEdit(e, path) && ok(e))) return 'done';
  const view = [...all].reverse().find((e) => isView(e, path) && ok(e));
  if (!view) return reply(tool(EDIT_TOOL, { command: 'view', path }));
  const failures = all.filter((e) => isEdit(e, path) && !ok(e));
  if (failures.length >= 2) return 'failed';
  if (failures.length === 0 && view.result!.text.includes(anchor.trimEnd())) {
    return reply(tool(EDIT_TOOL, { command: 'str_replace', path, old_str: anchor, new_str: after }));
  }
  return reply(
    text(`Appending to ${path} instead.`),
    tool(EDIT_TOOL, {
      command: 'insert',
      path,
      insert_line: lineCount(view.result!.text),
      new_str: appended,
    }),
  );
}

function next(request: MessagesRequest): ScriptedReply {
  const all = toolExchanges(request);
  if (all.length === 0) {
    return reply(
      text('I will add a formatNumber helper in its own module, export it and document it.'),
      planUpdate([
        ['Create src/format.js', 'in_progress'],
        ['Export it from src/index.js', 'pending'],
        ['Document it in README.md', 'pending'],
        ['Check it works', 'pending'],
      ]),
      tool(EDIT_TOOL, { command: 'create', path: 'src/format.js', file_text: FORMAT_SOURCE }),
    );
  }
  const creates = all.filter((e) => isEdit(e, 'src/format.js'));
  if (!creates.some(ok)) {
    if (creates.length >= 2) return finish('Could not create src/format.js.');
    return reply(tool(EDIT_TOOL, { command: 'create', path: 'src/format.js', file_text: FORMAT_SOURCE }));
  }
  const exported = editStep(
    all,
    'src/index.js',
    INDEX_BEFORE,
    INDEX_AFTER,
    "module.exports.formatNumber = require('./format.js').formatNumber;\n",
  );
  if (exported === 'failed') return finish('Could not export formatNumber from src/index.js.');
  if (exported !== 'done') return exported;
  const documented = editStep(
    all,
    'README.md',
    README_ANCHOR,
    README_ANCHOR + README_LINE,
    `\n${README_LINE}`,
  );
  if (documented === 'failed') return finish('Could not document formatNumber in README.md.');
  if (documented !== 'done') return documented;

  const verifications = all.filter(isVerify);
  const lastVerify = verifications.at(-1);
  if (!lastVerify?.result) {
    return reply(
      planUpdate([
        ['Create src/format.js', 'completed'],
        ['Export it from src/index.js', 'completed'],
        ['Document it in README.md', 'completed'],
        ['Check it works', 'in_progress'],
      ]),
      tool('bash', { command: VERIFY }),
    );
  }
  if (lastVerify.result.text.includes('3.14') && !lastVerify.result.isError) {
    return finish(
      'Added src/format.js (formatNumber), exported it from src/index.js and documented it in README.md.',
    );
  }
  if (verifications.length >= 2) return finish('formatNumber does not work as expected; giving up.');
  const lastCall = all.at(-1);
  if (lastCall && isVerify(lastCall)) {
    return reply(
      text('The check failed; rewriting src/format.js.'),
      tool(EDIT_TOOL, { command: 'create', path: 'src/format.js', file_text: FORMAT_SOURCE }),
    );
  }
  return reply(tool('bash', { command: VERIFY }));
}

/** A change spanning several files: creates src/format.js, edits src/index.js and README.md, checks it. */
export const multiFileScenario: Scenario = {
  name: 'multi-file',
  description:
    'Creates src/format.js, edits src/index.js and README.md (view first, str_replace or insert), then verifies.',
  respond: next,
};
