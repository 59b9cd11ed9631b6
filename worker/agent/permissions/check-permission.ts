import { globToRegExp } from '../../../src/domain/path-glob.js';
import { parseShellCommand, type SimpleCommand, type Word } from './parse-shell-command.js';
import type { PolicyLayer, RuleKind, ToolPolicy } from './tool-policy.js';

/** The answer for one call; a denial names the layer and rule so the model and the record can say why. */
export type Decision =
  | { allowed: true }
  | {
      allowed: false;
      kind: RuleKind;
      source: 'operator' | 'repo';
      rule: string | null;
      subject: string;
      reason: string;
    };

const ALLOWED: Decision = { allowed: true };

function globToken(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}

function basename(name: string): string {
  const i = name.lastIndexOf('/');
  return i >= 0 ? name.slice(i + 1) : name;
}

/** A pattern is read with the same parser, as one command of literal words. */
function patternTokens(pattern: string): string[] {
  const parsed = parseShellCommand(pattern);
  const first = parsed.commands[0];
  if (parsed.opaque.length > 0 || parsed.commands.length !== 1 || !first) return pattern.split(/\s+/);
  return first.argv.map((w) => w.text);
}

function nameMatches(pat: string, name: string): boolean {
  return globToken(pat).test(pat.includes('/') ? name : basename(name));
}

function shortFlags(argv: Word[]): Set<string> {
  const flags = new Set<string>();
  for (const w of argv.slice(1))
    if (/^-[A-Za-z0-9]+$/.test(w.text)) for (const ch of w.text.slice(1)) flags.add(ch);
  return flags;
}

function tokenMatches(pat: string, word: string): boolean {
  if (pat.startsWith('--') && !pat.includes('=') && word.startsWith(`${pat}=`)) return true;
  return globToken(pat).test(word);
}

/**
 * Deny rules match broadly: the command name, then every further pattern token somewhere
 * after it in order (`git push` catches `git -c x=y push --force`), and a short-flag bundle
 * by its letters in any order or split (`rm -rf` catches `rm -f -r x`).
 */
function denyMatches(tokens: string[], argv: Word[]): boolean {
  const [name, ...rest] = tokens;
  const cmd = argv[0];
  if (!name || !cmd || !nameMatches(name, cmd.text)) return false;
  const flags = shortFlags(argv);
  let at = 1;
  for (const t of rest) {
    if (/^-[A-Za-z0-9]+$/.test(t)) {
      if ([...t.slice(1)].every((ch) => flags.has(ch))) continue;
      return false;
    }
    const found = argv.findIndex((w, i) => i >= at && tokenMatches(t, w.text));
    if (found < 0) return false;
    at = found + 1;
  }
  return true;
}

/** Allow rules match narrowly: the argv starts with the pattern (`npm test` allows `npm test -- -u`). */
function allowMatches(tokens: string[], argv: Word[]): boolean {
  const [name, ...rest] = tokens;
  const cmd = argv[0];
  if (!name || !cmd?.literal || !nameMatches(name, cmd.text)) return false;
  return rest.every((t, i) => {
    const w = argv[i + 1];
    return w?.literal && tokenMatches(t, w.text);
  });
}

/** Strict reading of text we could not parse: a deny rule matches when its words appear in order. */
function denyMatchesText(tokens: string[], text: string): boolean {
  let at = 0;
  for (const t of tokens) {
    const body = t
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '\\S*')
      .replace(/\?/g, '\\S');
    const re = new RegExp(`(^|[^A-Za-z0-9_.-])${body}(?=$|[^A-Za-z0-9_.-])`, 'g');
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return false;
    at = m.index + m[0].length;
  }
  return tokens.length > 0;
}

function deny(
  layer: PolicyLayer,
  kind: RuleKind,
  rule: string | null,
  subject: string,
  why: string,
): Decision {
  return { allowed: false, kind, source: layer.source, rule, subject, reason: why };
}

function checkCommandInLayer(layer: PolicyLayer, cmd: SimpleCommand): Decision {
  const { allow, deny: denied } = layer.rules.shell;
  const subject = cmd.argv.map((w) => w.text).join(' ');
  if (cmd.argv.length === 0) return ALLOWED;
  const known = cmd.argv[0]?.literal === true;
  for (const rule of denied) {
    const tokens = patternTokens(rule);
    if (denyMatches(tokens, cmd.argv))
      return deny(layer, 'shell', rule, subject, `matches the deny rule "${rule}"`);
    // A command name we cannot know (`$X push`) is judged against the text, strictly.
    if (
      !known &&
      denyMatchesText(tokens.slice(1), subject.slice(cmd.argv[0]?.text.length ?? 0)) &&
      tokens.length > 1
    )
      return deny(
        layer,
        'shell',
        rule,
        subject,
        `its command name is computed at run time and the rest matches "${rule}"`,
      );
    if (!known && tokens.length === 1)
      return deny(
        layer,
        'shell',
        rule,
        subject,
        'its command name is computed at run time, so the deny rules cannot be checked',
      );
  }
  // A wrapper (timeout, env, bash -c) is transparent for allow rules: what it runs is judged on its own.
  if (allow.length > 0 && !cmd.transparent) {
    if (!allow.some((rule) => allowMatches(patternTokens(rule), cmd.argv)))
      return deny(layer, 'shell', null, subject, 'matches no allow rule');
  }
  return ALLOWED;
}

/**
 * Judges a bash command line: every simple command in it (pipelines, lists, subshells,
 * substitutions, `bash -c`, wrappers) must pass every layer, and so must every file it
 * redirects into (write rules) and every host named in a URL (network rules). Text that
 * could not be parsed is refused by a layer with an allow list, and by any deny rule whose
 * words appear in it.
 */
export function checkShellCommand(policy: ToolPolicy, command: string, workdir = ''): Decision {
  if (policy.layers.length === 0) return ALLOWED;
  const parsed = parseShellCommand(command);
  for (const layer of policy.layers) {
    for (const text of parsed.opaque) {
      if (layer.rules.shell.allow.length > 0)
        return deny(
          layer,
          'shell',
          null,
          text,
          'part of it cannot be parsed, so it cannot be shown to match an allow rule',
        );
      for (const rule of layer.rules.shell.deny)
        if (denyMatchesText(patternTokens(rule), text))
          return deny(
            layer,
            'shell',
            rule,
            text,
            `part of it cannot be parsed and mentions the deny rule "${rule}"`,
          );
    }
    for (const cmd of parsed.commands) {
      const d = checkCommandInLayer(layer, cmd);
      if (!d.allowed) return d;
    }
  }
  for (const cmd of parsed.commands) {
    for (const r of cmd.redirects) {
      if (!/>/.test(r.op) || !r.target.literal) continue;
      const path = repoRelative(r.target.text, workdir);
      if (path === null) continue;
      const d = checkWritePath(policy, path);
      if (!d.allowed) return d;
    }
    for (const w of cmd.argv) {
      const host = hostOf(w.text);
      if (!host) continue;
      const d = checkNetworkHost(policy, host);
      if (!d.allowed) return d;
    }
  }
  return ALLOWED;
}

/** A path inside the repository, relative to its root; null for paths outside it (/tmp, /dev/null). */
export function repoRelative(path: string, workdir: string): string | null {
  if (path.startsWith('/')) {
    if (!workdir || !(path === workdir || path.startsWith(`${workdir.replace(/\/$/, '')}/`))) return null;
    return path.slice(workdir.replace(/\/$/, '').length + 1);
  }
  const parts: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(seg);
  }
  return parts.join('/');
}

/** The host of a URL-looking word (`https://h/x`, `git@h:o/r`), lower-cased; null otherwise. */
export function hostOf(word: string): string | null {
  const url = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#\s]*@)?(\[[^\]]+\]|[^:/?#\s]+)/i.exec(word);
  if (url) return (url[1] as string).toLowerCase();
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,}):/.exec(word);
  return scp ? (scp[1] as string).toLowerCase() : null;
}

function pathMatches(glob: string, path: string): boolean {
  return globToRegExp(glob).test(path);
}

export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) || host === p.slice(2);
  return globToken(p).test(host);
}

function checkList(
  policy: ToolPolicy,
  kind: 'write' | 'network' | 'tools',
  subject: string,
  matches: (pattern: string, subject: string) => boolean,
): Decision {
  for (const layer of policy.layers) {
    const { allow, deny: denied } = layer.rules[kind];
    const hit = denied.find((p) => matches(p, subject));
    if (hit) return deny(layer, kind, hit, subject, `matches the deny rule "${hit}"`);
    if (allow.length > 0 && !allow.some((p) => matches(p, subject)))
      return deny(layer, kind, null, subject, 'matches no allow rule');
  }
  return ALLOWED;
}

/** May the editor write this repository-relative path? */
export function checkWritePath(policy: ToolPolicy, path: string): Decision {
  return checkList(policy, 'write', path.replace(/^\.?\//, ''), pathMatches);
}

export function checkNetworkHost(policy: ToolPolicy, host: string): Decision {
  return checkList(policy, 'network', host.toLowerCase(), hostMatches);
}

export function checkToolName(policy: ToolPolicy, name: string): Decision {
  return checkList(policy, 'tools', name, (p, s) => globToken(p).test(s));
}

/** Paths of a change the write rules refuse (for the delivery check: the shell can write too). */
export function deniedPaths(policy: ToolPolicy, paths: string[]): { path: string; decision: Decision }[] {
  const out: { path: string; decision: Decision }[] = [];
  for (const path of paths) {
    const decision = checkWritePath(policy, path);
    if (!decision.allowed) out.push({ path, decision });
  }
  return out;
}

/** The message the model reads for a refused call. */
export function denialMessage(d: Exclude<Decision, { allowed: true }>): string {
  const who = d.source === 'operator' ? "the operator's tool policy" : "the repository's permissions";
  const what = { shell: 'command', write: 'write to', network: 'network access to', tools: 'tool' }[d.kind];
  return `Permission denied by ${who}: ${what} "${d.subject.slice(0, 300)}" ${d.reason}. This is a policy decision, not an error to work around: do not retry it in another form; use another approach or explain in your summary what you could not do.`;
}
