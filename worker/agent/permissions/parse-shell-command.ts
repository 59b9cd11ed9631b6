/**
 * A conservative bash parser for the tool policy: it splits a command line into the
 * simple commands bash would run (on `&&`, `||`, `;`, `|`, `&`, newlines, subshells,
 * command and process substitution, `bash -c` strings, `eval`, and wrappers such as
 * `env`, `timeout`, `xargs`, `find -exec`), so rules match command names and argv,
 * never substrings of the raw text. What it cannot read with certainty (a command
 * name built from a variable, `case`, an unterminated quote, a heredoc body that runs
 * substitutions) is returned as `opaque` text, which the policy judges strictly.
 */

export interface Word {
  /** The word with quotes removed; expansions are kept as written (`$HOME/x`). */
  text: string;
  /** False when the word holds an expansion whose value we cannot know statically. */
  literal: boolean;
}

export interface Redirect {
  op: string;
  target: Word;
}

export interface SimpleCommand {
  argv: Word[];
  redirects: Redirect[];
  /** The command a wrapper runs (`timeout 5 npm test` → `npm test`), judged too. */
  wrapped?: boolean;
  /**
   * A wrapper or shell whose command was parsed and is judged on its own (`timeout 5 x`,
   * `bash -c 'x'`): allow rules look at what it runs; deny rules still look at both.
   */
  transparent?: boolean;
}

export interface ParsedShell {
  commands: SimpleCommand[];
  /** Text that may run commands but could not be parsed: judged strictly against deny rules. */
  opaque: string[];
}

class Unparseable extends Error {}

const MAX_DEPTH = 6;
const OPERATOR_CHARS = new Set([';', '&', '|', '(', ')', '\n']);
const SKIP_KEYWORDS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'do',
  'done',
  'while',
  'until',
  '!',
  '{',
  '}',
]);
const HEADER_KEYWORDS = new Set(['for', 'select', 'function']);
const SHELLS = new Set(['bash', 'sh', 'dash', 'zsh', 'ksh', 'ash', 'busybox']);
/** Wrappers that run their argument as a command, with the options that take a value. */
const WRAPPERS: Record<string, Set<string>> = {
  env: new Set(['-u', '--unset', '-C', '--chdir', '-S', '--split-string']),
  sudo: new Set(['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U']),
  doas: new Set(['-u', '-C']),
  timeout: new Set(['-s', '--signal', '-k', '--kill-after']),
  nice: new Set(['-n', '--adjustment']),
  ionice: new Set(['-c', '-n', '-p']),
  nohup: new Set(),
  time: new Set(['-f', '-o']),
  command: new Set(),
  builtin: new Set(),
  exec: new Set(['-a']),
  stdbuf: new Set(['-i', '-o', '-e']),
  setsid: new Set(),
  chronic: new Set(),
  xargs: new Set([
    '-a',
    '-d',
    '-E',
    '-e',
    '-I',
    '-i',
    '-L',
    '-l',
    '-n',
    '-P',
    '-s',
    '--delimiter',
    '--max-args',
  ]),
  watch: new Set(['-n', '-d']),
  unbuffer: new Set(),
  flock: new Set(['-w', '-E']),
};
/** Wrappers whose first operand is not the command (`timeout 5 cmd`, `flock file cmd`). */
const LEADING_OPERAND = new Set(['timeout', 'flock']);

export function parseShellCommand(src: string): ParsedShell {
  const out: ParsedShell = { commands: [], opaque: [] };
  parseInto(src, out, 0);
  return out;
}

function parseInto(src: string, out: ParsedShell, depth: number): void {
  if (depth > MAX_DEPTH) {
    out.opaque.push(src);
    return;
  }
  try {
    const local: ParsedShell = { commands: [], opaque: [] };
    new Parser(src, local, depth).run();
    for (const c of [...local.commands]) expandCommand(c, local, depth);
    out.commands.push(...local.commands);
    out.opaque.push(...local.opaque);
  } catch (err) {
    if (!(err instanceof Unparseable)) throw err;
    out.opaque.push(src);
  }
}

function basename(name: string): string {
  const i = name.lastIndexOf('/');
  return i >= 0 ? name.slice(i + 1) : name;
}

/** Adds what a command runs besides itself: `bash -c`, `eval`, wrappers, `find -exec`. */
function expandCommand(cmd: SimpleCommand, out: ParsedShell, depth: number): void {
  const argv = cmd.argv;
  const name = argv[0] ? basename(argv[0].text) : '';
  if (SHELLS.has(name)) {
    const c = argv.findIndex((w, i) => i > 0 && /^-[a-zA-Z]*c[a-zA-Z]*$/.test(w.text));
    const script = c > 0 ? argv[c + 1] : undefined;
    if (script) {
      if (script.literal) {
        cmd.transparent = argv.length === c + 2 || argv.length === c + 3;
        parseInto(script.text, out, depth + 1);
      } else out.opaque.push(script.text);
    }
    return;
  }
  if (name === 'eval') {
    const rest = argv.slice(1);
    if (rest.every((w) => w.literal)) {
      cmd.transparent = true;
      parseInto(rest.map((w) => w.text).join(' '), out, depth + 1);
    } else out.opaque.push(rest.map((w) => w.text).join(' '));
    return;
  }
  if (name === 'find') {
    for (let i = 1; i < argv.length; i++) {
      if (!/^-(exec|execdir|ok|okdir)$/.test(argv[i]?.text ?? '')) continue;
      const end = argv.findIndex((w, j) => j > i && (w.text === ';' || w.text === '+'));
      const inner = argv.slice(i + 1, end < 0 ? argv.length : end);
      if (inner.length > 0) pushWrapped(inner, out, depth);
    }
    return;
  }
  const valued = WRAPPERS[name];
  if (!valued) return;
  let i = 1;
  let operands = LEADING_OPERAND.has(name) ? 1 : 0;
  while (i < argv.length) {
    const t = argv[i]?.text ?? '';
    if (t === '--') {
      i++;
      break;
    }
    if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) {
      i++;
      continue;
    }
    if (t.startsWith('-') && t.length > 1) {
      i += valued.has(t) ? 2 : 1;
      continue;
    }
    if (operands > 0) {
      operands--;
      i++;
      continue;
    }
    break;
  }
  const inner = argv.slice(i);
  if (inner.length > 0) {
    // sudo/doas change who runs it: never transparent, an allow list must name them.
    cmd.transparent = name !== 'sudo' && name !== 'doas';
    pushWrapped(inner, out, depth);
  }
}

function pushWrapped(argv: Word[], out: ParsedShell, depth: number): void {
  const cmd: SimpleCommand = { argv, redirects: [], wrapped: true };
  out.commands.push(cmd);
  expandCommand(cmd, out, depth + 1);
}

class Parser {
  private i = 0;
  private argv: Word[] = [];
  private redirects: Redirect[] = [];
  private heredocs: { delimiter: string; quoted: boolean }[] = [];

  constructor(
    private readonly src: string,
    private readonly out: ParsedShell,
    private readonly depth: number,
  ) {}

  run(): void {
    const { src } = this;
    while (this.i < src.length) {
      const c = src[this.i] as string;
      if (c === ' ' || c === '\t') {
        this.i++;
      } else if (c === '\\' && src[this.i + 1] === '\n') {
        this.i += 2;
      } else if (c === '#' && this.atWordStart()) {
        while (this.i < src.length && src[this.i] !== '\n') this.i++;
      } else if (c === '\n') {
        this.endCommand();
        this.i++;
        this.readHeredocBodies();
      } else if (this.redirectAhead()) {
        this.readRedirect();
      } else if (OPERATOR_CHARS.has(c)) {
        if (c === ';' && src[this.i + 1] === ';') throw new Unparseable('case');
        this.endCommand();
        this.i++;
      } else {
        this.addWord(this.readWord());
      }
    }
    this.endCommand();
    if (this.heredocs.length > 0) throw new Unparseable('unterminated heredoc');
  }

  private atWordStart(): boolean {
    const prev = this.src[this.i - 1];
    return prev === undefined || /[\s;&|()]/.test(prev);
  }

  private addWord(word: Word): void {
    if (this.argv.length === 0 && word.literal) {
      if (/^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/.test(word.text)) return; // an assignment
      if (SKIP_KEYWORDS.has(word.text)) return;
      if (word.text === 'case' || word.text === 'esac' || word.text === 'coproc')
        throw new Unparseable('case');
    }
    this.argv.push(word);
  }

  private endCommand(): void {
    const first = this.argv[0];
    if (first && !(first.literal && HEADER_KEYWORDS.has(first.text))) {
      this.out.commands.push({ argv: this.argv, redirects: this.redirects });
    } else if (!first && this.redirects.length > 0) {
      this.out.commands.push({ argv: [], redirects: this.redirects });
    }
    this.argv = [];
    this.redirects = [];
  }

  private redirectAhead(): boolean {
    const rest = this.src.slice(this.i, this.i + 12);
    if (/^(<\(|>\()/.test(rest)) return false; // process substitution is a word
    if (/^(&>>?|[<>])/.test(rest)) return true;
    // `2>file`: digits directly followed by < or > at the start of a word.
    return this.atWordStart() && /^\d+[<>]/.test(rest);
  }

  private readRedirect(): void {
    const m = /^(\d*)(&>>|&>|>>|>\||>&|<<<|<<-|<<|<&|<>|>|<)/.exec(this.src.slice(this.i));
    if (!m) throw new Unparseable('redirect');
    this.i += m[0].length;
    const op = m[2] as string;
    while (this.src[this.i] === ' ' || this.src[this.i] === '\t') this.i++;
    if ((op === '>&' || op === '<&') && /^(\d+|-)/.test(this.src.slice(this.i))) {
      this.readWord(); // fd duplication, not a file
      return;
    }
    const start = this.i;
    const target = this.readWord();
    if (op === '<<' || op === '<<-') {
      const raw = this.src.slice(start, this.i);
      this.heredocs.push({ delimiter: target.text, quoted: /['"\\]/.test(raw) });
      return;
    }
    this.redirects.push({ op, target });
  }

  /** Skips heredoc bodies after a newline; an unquoted body that substitutes is opaque. */
  private readHeredocBodies(): void {
    for (const doc of this.heredocs) {
      const lines: string[] = [];
      for (;;) {
        if (this.i >= this.src.length) throw new Unparseable('unterminated heredoc');
        const nl = this.src.indexOf('\n', this.i);
        const end = nl < 0 ? this.src.length : nl;
        const line = this.src.slice(this.i, end);
        this.i = nl < 0 ? this.src.length : nl + 1;
        if (line.replace(/^\t+/, '') === doc.delimiter) break;
        lines.push(line);
      }
      const body = lines.join('\n');
      if (!doc.quoted && /\$\(|`/.test(body)) this.out.opaque.push(body);
    }
    this.heredocs = [];
  }

  private readWord(): Word {
    const { src } = this;
    let text = '';
    let literal = true;
    const start = this.i;
    while (this.i < src.length) {
      const c = src[this.i] as string;
      if (c === ' ' || c === '\t' || c === '\n') break;
      if ((c === '<' || c === '>') && src[this.i + 1] === '(') {
        const end = this.matchParen(this.i + 1);
        parseInto(src.slice(this.i + 2, end), this.out, this.depth + 1);
        text += src.slice(this.i, end + 1);
        literal = false;
        this.i = end + 1;
        continue;
      }
      if (OPERATOR_CHARS.has(c) || c === '<' || c === '>') break;
      if (c === '\\') {
        text += src[this.i + 1] ?? '';
        this.i += 2;
      } else if (c === "'") {
        const end = src.indexOf("'", this.i + 1);
        if (end < 0) throw new Unparseable('quote');
        text += src.slice(this.i + 1, end);
        this.i = end + 1;
      } else if (c === '"') {
        const r = this.readDoubleQuoted();
        text += r.text;
        literal &&= r.literal;
      } else if (c === '$') {
        const r = this.readDollar();
        text += r.text;
        literal &&= r.literal;
      } else if (c === '`') {
        text += this.readBackticks();
        literal = false;
      } else {
        text += c;
        this.i++;
      }
    }
    if (this.i === start) throw new Unparseable('empty word');
    return { text, literal };
  }

  private readDoubleQuoted(): Word {
    const { src } = this;
    this.i++;
    let text = '';
    let literal = true;
    while (this.i < src.length && src[this.i] !== '"') {
      const c = src[this.i] as string;
      if (c === '\\' && /[$`"\\\n]/.test(src[this.i + 1] ?? '')) {
        text += src[this.i + 1];
        this.i += 2;
      } else if (c === '$') {
        const r = this.readDollar();
        text += r.text;
        literal &&= r.literal;
      } else if (c === '`') {
        text += this.readBackticks();
        literal = false;
      } else {
        text += c;
        this.i++;
      }
    }
    if (this.i >= src.length) throw new Unparseable('quote');
    this.i++;
    return { text, literal };
  }

  private readDollar(): Word {
    const { src } = this;
    const next = src[this.i + 1];
    if (next === "'") {
      const end = src.indexOf("'", this.i + 2);
      if (end < 0) throw new Unparseable('quote');
      const text = src.slice(this.i + 2, end);
      this.i = end + 1;
      // ANSI-C escapes (\x41) could spell anything: literal only without a backslash.
      return { text, literal: !text.includes('\\') };
    }
    if (next === '(') {
      const end = this.matchParen(this.i + 1);
      const inner = src.slice(this.i + 2, end);
      // `$((…))` is arithmetic, which can still hold `$(…)`.
      if (!(inner.startsWith('(') && inner.endsWith(')'))) parseInto(inner, this.out, this.depth + 1);
      else if (/\$\(|`/.test(inner)) this.out.opaque.push(inner);
      const text = src.slice(this.i, end + 1);
      this.i = end + 1;
      return { text, literal: false };
    }
    if (next === '{') {
      const end = src.indexOf('}', this.i + 2);
      if (end < 0) throw new Unparseable('brace');
      const text = src.slice(this.i, end + 1);
      if (/\$\(|`/.test(text)) this.out.opaque.push(text);
      this.i = end + 1;
      return { text, literal: false };
    }
    const m = /^\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/.exec(src.slice(this.i));
    if (m) {
      this.i += m[0].length;
      return { text: m[0], literal: false };
    }
    this.i++;
    return { text: '$', literal: true };
  }

  private readBackticks(): string {
    const { src } = this;
    let j = this.i + 1;
    let inner = '';
    while (j < src.length && src[j] !== '`') {
      if (src[j] === '\\' && j + 1 < src.length) {
        inner += src[j + 1];
        j += 2;
      } else inner += src[j++];
    }
    if (j >= src.length) throw new Unparseable('backtick');
    parseInto(inner, this.out, this.depth + 1);
    const text = src.slice(this.i, j + 1);
    this.i = j + 1;
    return text;
  }

  /** Index of the `)` matching the `(` at `open`, skipping quotes and nested parens. */
  private matchParen(open: number): number {
    const { src } = this;
    let depth = 0;
    for (let j = open; j < src.length; j++) {
      const c = src[j];
      if (c === '\\') j++;
      else if (c === "'") {
        j = src.indexOf("'", j + 1);
        if (j < 0) break;
      } else if (c === '"') {
        for (j++; j < src.length && src[j] !== '"'; j++) if (src[j] === '\\') j++;
      } else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return j;
    }
    throw new Unparseable('paren');
  }
}
