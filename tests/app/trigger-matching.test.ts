import { describe, expect, it } from 'vitest';
import { findMention, isBot, matchComment, matchIssueEvent } from '../../src/app/trigger-matching.js';

const ctx = { botLogin: 'pullwright[bot]', phrases: ['@agent', '@pullwright'] };
const alice = { login: 'alice', id: 1, type: 'User' };

function comment(body: string, overrides: Partial<Parameters<typeof matchComment>[0]> = {}) {
  return matchComment(
    {
      source: 'issue_comment',
      action: 'created',
      number: 3,
      isPullRequest: false,
      body,
      commentId: 9,
      author: alice,
      ...overrides,
    },
    ctx,
  );
}

describe('findMention', () => {
  it('finds the phrase as a word and returns the rest as instruction', () => {
    expect(findMention('@agent please fix the login', ctx.phrases)).toEqual({
      instruction: 'please fix the login',
    });
    expect(findMention('Hey @Agent, do it\nand more', ctx.phrases)).toEqual({
      instruction: ', do it\nand more',
    });
    expect(findMention('@pullwright', ctx.phrases)).toEqual({ instruction: '' });
  });

  it('ignores look-alikes, quotes and code', () => {
    expect(findMention('@agents are cool', ctx.phrases)).toBeNull();
    expect(findMention('mail me at bob@agent', ctx.phrases)).toBeNull();
    expect(findMention('@agent-smith hi', ctx.phrases)).toBeNull();
    expect(findMention('> @agent do X\nthanks', ctx.phrases)).toBeNull();
    expect(findMention('```\n@agent do X\n```', ctx.phrases)).toBeNull();
    expect(findMention('no mention here', ctx.phrases)).toBeNull();
  });

  it('bounds the instruction', () => {
    const found = findMention(`@agent ${'x'.repeat(20_000)}`, ctx.phrases);
    expect(found?.instruction.length).toBe(10_000);
  });
});

describe('isBot', () => {
  it('recognises bots by type, suffix and our own login', () => {
    expect(isBot({ login: 'dependabot[bot]', id: 2 }, ctx.botLogin)).toBe(true);
    expect(isBot({ login: 'robot', id: 2, type: 'Bot' }, ctx.botLogin)).toBe(true);
    expect(isBot({ login: 'Pullwright[bot]', id: 2, type: 'User' }, ctx.botLogin)).toBe(true);
    expect(isBot(alice, ctx.botLogin)).toBe(false);
  });
});

describe('matchComment', () => {
  it('turns a mention on an issue into an implement job with the instruction', () => {
    expect(comment('@agent add a test')).toEqual({
      action: 'enqueue',
      kind: 'implement',
      number: 3,
      debounce: false,
      trigger: {
        actor: 'alice',
        actorId: 1,
        source: 'issue_comment',
        commentId: 9,
        instruction: 'add a test',
      },
    });
  });

  it('maps PR mentions to address-review or revise', () => {
    expect(comment('@agent address review', { isPullRequest: true })).toMatchObject({
      kind: 'address-review',
      debounce: false,
    });
    expect(
      comment('@agent address the review please', { isPullRequest: true, source: 'review_comment' }),
    ).toMatchObject({
      kind: 'address-review',
      debounce: true,
    });
    expect(
      comment('@agent address review', {
        isPullRequest: true,
        source: 'review',
        action: 'submitted',
        commentId: undefined,
      }),
    ).toMatchObject({ kind: 'address-review', debounce: true });
    expect(comment('@agent rename foo to bar', { isPullRequest: true })).toMatchObject({
      kind: 'revise',
      trigger: { instruction: 'rename foo to bar' },
    });
    expect(comment('@agent', { isPullRequest: true })).toMatchObject({ action: 'ignore' });
  });

  it('turns stop into a cancel', () => {
    expect(comment('@agent stop')).toEqual({ action: 'cancel', number: 3, reason: 'stop-comment' });
    expect(comment('@agent stop', { isPullRequest: true })).toEqual({
      action: 'cancel',
      number: 3,
      reason: 'stop-comment',
    });
  });

  it('ignores edits, bots and our own comments', () => {
    expect(comment('@agent do it', { action: 'edited' })).toMatchObject({ action: 'ignore' });
    expect(
      comment('@agent do it', { author: { login: 'pullwright[bot]', id: 5, type: 'Bot' } }),
    ).toMatchObject({
      action: 'ignore',
    });
    expect(comment('@agent do it', { author: { login: 'renovate[bot]', id: 6 } })).toMatchObject({
      action: 'ignore',
    });
    expect(comment('@agent do it', { source: 'review', action: 'edited' })).toMatchObject({
      action: 'ignore',
    });
  });
});

describe('matchIssueEvent', () => {
  const bot = { login: 'pullwright[bot]', id: 77, type: 'Bot' };
  it('assigning the bot asks for an implement job', () => {
    expect(matchIssueEvent({ action: 'assigned', number: 4, assignee: bot, sender: alice }, ctx)).toEqual({
      action: 'enqueue',
      kind: 'implement',
      number: 4,
      debounce: false,
      trigger: { actor: 'alice', actorId: 1, source: 'assignment' },
    });
  });
  it('ignores other assignees and bot senders; unassign and close cancel', () => {
    expect(
      matchIssueEvent({ action: 'assigned', number: 4, assignee: alice, sender: alice }, ctx).action,
    ).toBe('ignore');
    expect(matchIssueEvent({ action: 'assigned', number: 4, assignee: bot, sender: bot }, ctx).action).toBe(
      'ignore',
    );
    expect(matchIssueEvent({ action: 'unassigned', number: 4, assignee: bot, sender: alice }, ctx)).toEqual({
      action: 'cancel',
      number: 4,
      reason: 'unassigned',
    });
    expect(matchIssueEvent({ action: 'closed', number: 4, assignee: null, sender: alice }, ctx)).toEqual({
      action: 'cancel',
      number: 4,
      reason: 'closed',
    });
    expect(matchIssueEvent({ action: 'labeled', number: 4, assignee: null, sender: alice }, ctx).action).toBe(
      'ignore',
    );
  });
});

describe('matchComment: follow-through commands on a pull request', () => {
  const onPr = (body: string, source: 'issue_comment' | 'review' | 'review_comment' = 'issue_comment') =>
    comment(body, { isPullRequest: true, source, action: source === 'review' ? 'submitted' : 'created' });
  const kindOf = (d: ReturnType<typeof comment>) => (d.action === 'enqueue' ? d.kind : d.action);

  it('`fix ci` and its spellings ask for a CI repair, with the rest as instruction', () => {
    for (const body of [
      '@agent fix ci',
      '@agent fix the CI please',
      '@agent repair the build',
      '@agent fix failing checks',
    ]) {
      expect(kindOf(onPr(body)), body).toBe('repair-ci');
    }
    const d = onPr('@agent fix ci\nthe flaky test is in auth.spec.ts');
    expect(d).toMatchObject({
      action: 'enqueue',
      kind: 'repair-ci',
      trigger: { actor: 'alice', source: 'issue_comment' },
    });
    expect(d.action === 'enqueue' && d.trigger.instruction).toContain('auth.spec.ts');
  });

  it('`update` and `rebase` ask for a branch update; the instruction tells which', () => {
    for (const body of [
      '@agent update',
      '@agent update the branch',
      '@agent update this PR from main',
      '@agent rebase',
      '@agent rebase onto main please',
    ]) {
      expect(kindOf(onPr(body)), body).toBe('update-branch');
    }
    expect(onPr('@agent rebase')).toMatchObject({ trigger: { instruction: 'rebase' } });
  });

  it('"update the README …" and other edits stay revise instructions', () => {
    for (const body of [
      '@agent update the README to mention Redis',
      '@agent updates are needed in auth.ts',
      '@agent fix the typo in the CI docs link',
    ]) {
      expect(kindOf(onPr(body)), body).toBe('revise');
    }
  });

  it('on an issue the same words are an implement request', () => {
    expect(kindOf(comment('@agent fix ci'))).toBe('implement');
    expect(kindOf(comment('@agent rebase'))).toBe('implement');
  });

  it('bots and edits still never trigger', () => {
    expect(
      comment('@agent fix ci', { isPullRequest: true, author: { login: 'ci[bot]', id: 2, type: 'Bot' } }),
    ).toMatchObject({ action: 'ignore' });
    expect(comment('@agent update', { isPullRequest: true, action: 'edited' })).toMatchObject({
      action: 'ignore',
    });
  });
});
