import type { PersonTrigger, TargetTaskKind } from '../domain/task.js';

/**
 * Pure decisions: does this event ask Pullwright to do something? No I/O here,
 * so every rule is unit-tested on its own. Authorization comes after.
 */
export interface MatchContext {
  botLogin: string;
  /** Phrases that address the app, e.g. ['@agent', '@pullwright']. */
  phrases: string[];
}

export interface Actor {
  login: string;
  id: number;
  type?: string;
}

export type TriggerDecision =
  | {
      action: 'enqueue';
      kind: TargetTaskKind;
      number: number;
      trigger: PersonTrigger;
      /** Coalesce with more of the same (review comments arriving in a burst). */
      debounce: boolean;
    }
  | { action: 'cancel'; number: number; reason: 'stop-comment' | 'unassigned' | 'closed' }
  | { action: 'ignore'; reason: string };

const MAX_INSTRUCTION = 10_000;

/**
 * Bots never trigger, so Pullwright cannot answer itself in a loop and another
 * automation cannot drive it. GitHub marks apps with type Bot and a `[bot]` suffix.
 */
export function isBot(actor: Actor, botLogin: string): boolean {
  const login = actor.login.toLowerCase();
  return actor.type === 'Bot' || login.endsWith('[bot]') || login === botLogin.toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiled patterns by phrase list: a handful per process, one compile each instead of one per delivery. */
const patterns = new Map<string, RegExp | null>();
const MAX_PATTERNS = 1_000;

function mentionPattern(phrases: string[]): RegExp | null {
  const key = phrases.join('\u0000');
  let pattern = patterns.get(key);
  if (pattern !== undefined) return pattern;
  const alternatives = phrases.filter((p) => p.length > 1).map(escapeRegExp);
  // A phrase counts when it stands alone: not part of an email or a longer handle.
  pattern =
    alternatives.length === 0 ? null : new RegExp(`(^|[^\\w@/.-])(${alternatives.join('|')})(?![\\w-])`, 'i');
  if (patterns.size >= MAX_PATTERNS) patterns.clear();
  patterns.set(key, pattern);
  return pattern;
}

/**
 * The instruction after the first mention of a phrase, or null when the text
 * does not address us. Quoted lines (`> …`) and fenced code are skipped, so
 * quoting an earlier command or showing an example does not trigger again.
 */
export function findMention(text: string, phrases: string[]): { instruction: string } | null {
  if (!text.includes('@')) return null;
  const pattern = mentionPattern(phrases);
  if (pattern === null) return null;
  const lines = text.split(/\r?\n/);
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence || /^\s*>/.test(line)) continue;
    const match = pattern.exec(line);
    if (!match) continue;
    const after = line.slice(match.index + match[0].length);
    const rest = [after, ...lines.slice(i + 1)].join('\n').trim();
    return { instruction: rest.slice(0, MAX_INSTRUCTION) };
  }
  return null;
}

const STOP = /^(stop|cancel)\b/i;
const ADDRESS_REVIEW = /^address\s+(the\s+)?(review|reviews|feedback|comments)\b/i;
/** `@agent fix ci`, `@agent fix the build`, `@agent repair the checks` (more text after it is the instruction). */
const FIX_CI = /^(fix|repair)\s+(the\s+)?(ci|build|checks?|failing\s+(ci|checks?|build))\b/i;
/** `@agent rebase …` is always about the branch. */
const REBASE = /^rebase\b/i;
/**
 * `@agent update` alone, or `update the branch` / `update this PR` / `update from main`:
 * "update the README to …" stays an ordinary revise instruction.
 */
const UPDATE =
  /^update(\s+(the|this)?\s*(branch|pr|pull\s+request))?(\s+(from|with|to|onto)\s+(the\s+)?\S+)?\s*[.!]?\s*$/i;

export type CommentSource = 'issue_comment' | 'review' | 'review_comment';

/** A comment-like event: an issue or PR comment, a review body, or a review comment. */
export function matchComment(
  input: {
    source: CommentSource;
    action: string;
    number: number;
    isPullRequest: boolean;
    body: string | null | undefined;
    commentId?: number;
    author: Actor;
  },
  ctx: MatchContext,
): TriggerDecision {
  const created = input.source === 'review' ? input.action === 'submitted' : input.action === 'created';
  // Edits never re-trigger: one request, one run, whatever happens to the text later.
  if (!created) return { action: 'ignore', reason: `action ${input.action}` };
  if (isBot(input.author, ctx.botLogin)) return { action: 'ignore', reason: 'bot author' };
  const mention = findMention(input.body ?? '', ctx.phrases);
  if (!mention) return { action: 'ignore', reason: 'no mention' };
  if (STOP.test(mention.instruction))
    return { action: 'cancel', number: input.number, reason: 'stop-comment' };
  const trigger: PersonTrigger = {
    actor: input.author.login,
    actorId: input.author.id,
    source: input.source,
    ...(input.commentId !== undefined ? { commentId: input.commentId } : {}),
    ...(mention.instruction ? { instruction: mention.instruction } : {}),
  };
  if (!input.isPullRequest) {
    return { action: 'enqueue', kind: 'implement', number: input.number, trigger, debounce: false };
  }
  if (FIX_CI.test(mention.instruction)) {
    return { action: 'enqueue', kind: 'repair-ci', number: input.number, trigger, debounce: false };
  }
  const firstLine = mention.instruction.split('\n', 1)[0] ?? '';
  if (REBASE.test(mention.instruction) || UPDATE.test(firstLine)) {
    return { action: 'enqueue', kind: 'update-branch', number: input.number, trigger, debounce: false };
  }
  if (ADDRESS_REVIEW.test(mention.instruction)) {
    // Review bodies and review comments come in bursts when a review is submitted.
    const debounce = input.source !== 'issue_comment';
    return { action: 'enqueue', kind: 'address-review', number: input.number, trigger, debounce };
  }
  if (!mention.instruction)
    return { action: 'ignore', reason: 'mention without instruction on a pull request' };
  return { action: 'enqueue', kind: 'revise', number: input.number, trigger, debounce: false };
}

/** `issues.assigned` / `unassigned` / `closed`. */
export function matchIssueEvent(
  input: { action: string; number: number; assignee: Actor | null | undefined; sender: Actor },
  ctx: MatchContext,
): TriggerDecision {
  const toUs = input.assignee?.login.toLowerCase() === ctx.botLogin.toLowerCase();
  if (input.action === 'closed') return { action: 'cancel', number: input.number, reason: 'closed' };
  if (input.action !== 'assigned' && input.action !== 'unassigned') {
    return { action: 'ignore', reason: `action ${input.action}` };
  }
  if (!toUs) return { action: 'ignore', reason: 'assignee is not the app' };
  if (isBot(input.sender, ctx.botLogin)) return { action: 'ignore', reason: 'bot sender' };
  if (input.action === 'unassigned') return { action: 'cancel', number: input.number, reason: 'unassigned' };
  return {
    action: 'enqueue',
    kind: 'implement',
    number: input.number,
    trigger: { actor: input.sender.login, actorId: input.sender.id, source: 'assignment' },
    debounce: false,
  };
}
