import {
  finish,
  firstUserText,
  reply,
  type Scenario,
  text,
  tool,
  toolExchanges,
} from '../twins/model/index.js';

/**
 * The model twin's play for the eval fixture (tests/fixtures/eval): it reads the task it was given
 * (the commit message), views the file that task is about and edits it: the right fix for the
 * slugify and padLeft tasks, a wrong one for clamp (it "fixes" the wrong thing), so an evaluation
 * shows solved and unsolved tasks. It never sees the withheld tests.
 */

const EDIT = 'str_replace_based_edit_tool';

interface Play {
  /** A phrase of the task only (the context also shows the repository's code, which names every function). */
  match: RegExp;
  path: string;
  oldStr: string;
  newStr: string;
  summary: string;
}

const PLAYS: Play[] = [
  {
    match: /dashes at the ends/,
    path: 'src/text.js',
    oldStr: ".replace(/[^a-z0-9]+/g, '-');",
    newStr: ".replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');",
    summary: 'slugify now trims leading and trailing dashes.',
  },
  {
    match: /RangeError on strings longer/,
    path: 'src/pad.js',
    oldStr: '  return ch.repeat(width - s.length) + s;',
    newStr: '  return ch.repeat(Math.max(0, width - s.length)) + s;',
    summary: 'padLeft no longer repeats a negative count.',
  },
  {
    // Wrong on purpose: swaps min and max instead of reordering the bounds.
    match: /bounds are swapped/,
    path: 'src/range.js',
    oldStr: '  return Math.min(Math.max(x, lo), hi);',
    newStr: '  return Math.max(Math.min(x, hi), lo);',
    summary: 'Reordered the min/max calls in clamp.',
  },
];

export const evalFixtureScenario: Scenario = {
  name: 'eval-fixture',
  description: 'Plays the agent on the pullwright eval fixture: two right fixes, one wrong.',
  respond(request) {
    // The context also shows recent commit messages (other fixes); the task follows this sentence,
    // so the play whose phrase comes first after it is this task's.
    const all = firstUserText(request);
    const task = all.slice(Math.max(0, all.indexOf('Do the following in this repository')));
    const play = PLAYS.map((p) => ({ p, at: task.search(p.match) }))
      .filter((x) => x.at >= 0)
      .sort((a, b) => a.at - b.at)[0]?.p;
    if (!play) return finish('I do not know this task.');
    const done = toolExchanges(request);
    if (done.length === 0)
      return reply(text(`Looking at ${play.path}.`), tool(EDIT, { command: 'view', path: play.path }));
    if (done.length === 1)
      return reply(
        text('Fixing it.'),
        tool(EDIT, { command: 'str_replace', path: play.path, old_str: play.oldStr, new_str: play.newStr }),
      );
    return finish(play.summary);
  },
};
