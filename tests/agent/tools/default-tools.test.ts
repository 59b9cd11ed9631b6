import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tool, ToolResult } from '../../../worker/agent/tool.js';
import { createDefaultTools } from '../../../worker/agent/tools/index.js';
import type { DockerSandbox } from '../../../worker/sandbox/docker-sandbox-provider.js';
import {
  makeWorkspace,
  removeContainersOf,
  removeDir,
  SANDBOX_IMAGE,
  testProvider,
} from '../../sandbox/helpers.js';

const log = pino({ level: 'silent' });

describe('default tools in a real Docker sandbox', () => {
  const { provider, workerHostId, docker } = testProvider();
  let workspace: string;
  let sandbox: DockerSandbox;
  const tools = createDefaultTools({ bashTimeoutMs: 20_000, output: { maxBytes: 4000, maxLines: 60 } });
  const byName = new Map(tools.map((t) => [t.name, t]));

  /** Validates like the loop does, then runs. */
  async function call(
    name: string,
    input: unknown,
    signal = new AbortController().signal,
  ): Promise<ToolResult> {
    const tool = byName.get(name) as Tool;
    const parsed = tool.input.safeParse(input);
    if (!parsed.success) return { content: `invalid: ${parsed.error.message}`, isError: true };
    return tool.run(parsed.data, { sandbox, signal, log });
  }
  const sh = async (cmd: string) => sandbox.exec({ cmd });

  beforeAll(async () => {
    workspace = await makeWorkspace();
    sandbox = await provider.create(
      { image: SANDBOX_IMAGE, labels: { 'dev.pullwright.job': 'tools-test' } },
      workspace,
    );
    await sh(
      'mkdir -p src/deep/er/est node_modules/x .hidden && printf "a\\nb\\nc\\n" > src/abc.txt && echo "x" > node_modules/x/i.js && echo s > .hidden/s && echo ignored > src/deep/er/est/leaf.ts && printf "one\\ntwo\\none\\n" > dup.txt && printf "\\x00\\x01\\x02bin" > blob.bin && git init -q . && echo "gen/" > .gitignore && mkdir gen && echo g > gen/out.js',
    );
  });

  afterAll(async () => {
    await sandbox?.dispose();
    await removeContainersOf(docker, workerHostId);
    await removeDir(workspace);
  });

  it('exposes seven tools in a fixed order with object JSON schemas', () => {
    expect(tools.map((t) => t.name)).toEqual([
      'bash',
      'str_replace_based_edit_tool',
      'search',
      'list_files',
      'update_plan',
      'memory',
      'finish',
    ]);
    for (const t of tools) {
      expect(t.inputJsonSchema.type).toBe('object');
      expect(JSON.stringify(t.inputJsonSchema)).not.toMatch(/prefixItems|9007199254740991|\$schema/);
      expect(t.description.length).toBeGreaterThan(40);
    }
    expect(JSON.stringify(createDefaultTools().map((t) => [t.name, t.inputJsonSchema]))).toBe(
      JSON.stringify(createDefaultTools().map((t) => [t.name, t.inputJsonSchema])),
    );
  });

  it('bash returns stdout, stderr and the exit code', async () => {
    const r = await call('bash', { command: 'echo out; echo err >&2; exit 3' });
    expect(r.isError).toBe(true);
    expect(r.content).toContain('out');
    expect(r.content).toContain('[stderr]\nerr');
    expect(r.content).toContain('exit code: 3');
    const ok = await call('bash', { command: 'pwd' });
    expect(ok).toMatchObject({ isError: false, content: '/workspace\nexit code: 0' });
  });

  it('bash keeps head and tail of huge output with a marker of what was cut', async () => {
    const r = await call('bash', { command: 'seq 1 200000' });
    expect(r.content.startsWith('1\n2\n3\n')).toBe(true);
    expect(r.content).toContain('200000\nexit code: 0');
    expect(r.content).toMatch(/\[\.\.\. \d+ lines \([\d.]+ (KB|MB)\) cut \.\.\.\]/);
    expect(Buffer.byteLength(r.content)).toBeLessThan(4200);
  });

  it('bash reports a timeout', async () => {
    const r = await call('bash', { command: 'sleep 30', timeout_ms: 1000 });
    expect(r.isError).toBe(true);
    expect(r.content).toContain('timed out after 1 s');
  });

  it('bash honours the abort signal', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    const r = await call('bash', { command: 'sleep 60' }, ac.signal);
    expect(r.isError).toBe(true);
    expect(r.content).toContain('cancelled');
  });

  it('rejects malformed input through the schema', async () => {
    expect((await call('bash', {})).isError).toBe(true);
    expect((await call('bash', { command: 'ls', extra: 1 })).isError).toBe(true);
    const edit = await call('str_replace_based_edit_tool', { command: 'create', path: 'x.txt' });
    expect(edit.isError).toBe(true);
    expect(edit.content).toContain('file_text is required');
  });

  it('views a file with line numbers and a range', async () => {
    const r = await call('str_replace_based_edit_tool', { command: 'view', path: 'src/abc.txt' });
    expect(r).toEqual({ content: '     1\ta\n     2\tb\n     3\tc', isError: false });
    const part = await call('str_replace_based_edit_tool', {
      command: 'view',
      path: 'src/abc.txt',
      view_range: [2, -1],
    });
    expect(part.content).toBe('     2\tb\n     3\tc');
  });

  it('windows a large file with a note on how to see more', async () => {
    await sh('seq 1 2000 > big.txt');
    const r = await call('str_replace_based_edit_tool', { command: 'view', path: 'big.txt' });
    expect(r.content).toContain('   800\t800');
    expect(r.content).not.toContain('   801\t801');
    expect(r.content).toContain('view_range [801, -1]');
  });

  it('windows a file of long lines by characters too', async () => {
    await sh('for i in {1..500}; do printf "%0100d\\n" $i; done > wide.txt');
    const r = await call('str_replace_based_edit_tool', { command: 'view', path: 'wide.txt' });
    expect(r.content.length).toBeLessThan(16_000);
    expect(r.content).toMatch(/\[Showing lines 1-\d+ of 500\. Use view_range \[\d+, -1\]/);
  });

  it('views a window of a file too large to read whole, and refuses to edit it', async () => {
    await sh('seq 1 600000 > huge.txt');
    const r = await call('str_replace_based_edit_tool', {
      command: 'view',
      path: 'huge.txt',
      view_range: [1000, 1002],
    });
    expect(r.isError).toBe(false);
    expect(r.content).toContain('  1000\t1000\n  1001\t1001\n  1002\t1002');
    expect(r.content).toContain('huge.txt is large');
    const edit = await call('str_replace_based_edit_tool', {
      command: 'str_replace',
      path: 'huge.txt',
      old_str: '599999\n',
      new_str: 'x\n',
    });
    expect(edit.isError).toBe(true);
    expect(edit.content).toContain('too large to edit');
  });

  it('keeps CRLF line ends when editing', async () => {
    await sandbox.writeFile('win.txt', 'one\r\ntwo\r\nthree\r\n');
    const r = await call('str_replace_based_edit_tool', {
      command: 'str_replace',
      path: 'win.txt',
      old_str: 'two\n',
      new_str: 'TWO\n',
    });
    expect(r.isError).toBe(false);
    await call('str_replace_based_edit_tool', {
      command: 'insert',
      path: 'win.txt',
      insert_line: 3,
      new_str: 'four',
    });
    expect((await sandbox.readFile('win.txt')).toString()).toBe('one\r\nTWO\r\nthree\r\nfour\r\n');
  });

  it('views a directory two levels deep, hiding dotfiles and node_modules', async () => {
    const r = await call('str_replace_based_edit_tool', { command: 'view', path: '.' });
    expect(r.content).toContain('src/');
    expect(r.content).toContain('src/abc.txt');
    expect(r.content).toContain('src/deep/');
    expect(r.content).not.toContain('src/deep/er');
    expect(r.content).not.toContain('node_modules/');
    expect(r.content).not.toContain('.hidden');
  });

  it('creates files with parents and overwrites existing ones', async () => {
    const c = await call('str_replace_based_edit_tool', {
      command: 'create',
      path: 'new/dir/f.txt',
      file_text: 'hi\n',
    });
    expect(c).toMatchObject({ isError: false, content: expect.stringContaining('created') });
    expect((await sandbox.readFile('new/dir/f.txt')).toString()).toBe('hi\n');
    const o = await call('str_replace_based_edit_tool', {
      command: 'create',
      path: 'new/dir/f.txt',
      file_text: 'bye\n',
    });
    expect(o.content).toContain('overwritten');
    expect((await sandbox.readFile('new/dir/f.txt')).toString()).toBe('bye\n');
  });

  it('str_replace replaces a unique string and explains no match or several matches', async () => {
    const none = await call('str_replace_based_edit_tool', {
      command: 'str_replace',
      path: 'dup.txt',
      old_str: 'zzz',
      new_str: 'y',
    });
    expect(none.isError).toBe(true);
    expect(none.content).toContain('did not appear verbatim');
    const many = await call('str_replace_based_edit_tool', {
      command: 'str_replace',
      path: 'dup.txt',
      old_str: 'one',
      new_str: 'y',
    });
    expect(many.isError).toBe(true);
    expect(many.content).toContain('at lines 1, 3');
    const ok = await call('str_replace_based_edit_tool', {
      command: 'str_replace',
      path: 'dup.txt',
      old_str: 'two\n',
      new_str: '$& $1 two!\n',
    });
    expect(ok.isError).toBe(false);
    expect(ok.content).toContain('     2\t$& $1 two!');
    expect((await sandbox.readFile('dup.txt')).toString()).toBe('one\n$& $1 two!\none\n');
  });

  it('inserts after a line, at the top, and refuses past the end', async () => {
    await call('str_replace_based_edit_tool', { command: 'create', path: 'ins.txt', file_text: 'a\nb\n' });
    await call('str_replace_based_edit_tool', {
      command: 'insert',
      path: 'ins.txt',
      insert_line: 0,
      new_str: 'top',
    });
    await call('str_replace_based_edit_tool', {
      command: 'insert',
      path: 'ins.txt',
      insert_line: 2,
      new_str: 'mid\n',
    });
    await call('str_replace_based_edit_tool', {
      command: 'insert',
      path: 'ins.txt',
      insert_line: 4,
      new_str: 'end1\nend2',
    });
    expect((await sandbox.readFile('ins.txt')).toString()).toBe('top\na\nmid\nb\nend1\nend2\n');
    const past = await call('str_replace_based_edit_tool', {
      command: 'insert',
      path: 'ins.txt',
      insert_line: 99,
      new_str: 'x',
    });
    expect(past.isError).toBe(true);
    expect(past.content).toContain('has 6 lines');
  });

  it('refuses binary files, paths outside the workspace and symlink escapes', async () => {
    const bin = await call('str_replace_based_edit_tool', { command: 'view', path: 'blob.bin' });
    expect(bin.isError).toBe(true);
    expect(bin.content).toContain('binary');
    for (const path of ['../etc/passwd', '/etc/passwd', 'src/../../etc']) {
      const r = await call('str_replace_based_edit_tool', { command: 'view', path });
      expect(r.isError).toBe(true);
      expect(r.content).toContain('outside the workspace');
    }
    await sh('ln -s /etc escape && ln -s /tmp escape-dir');
    const viaLink = await call('str_replace_based_edit_tool', { command: 'view', path: 'escape/passwd' });
    expect(viaLink.isError).toBe(true);
    expect(viaLink.content).toContain('symlink');
    const write = await call('str_replace_based_edit_tool', {
      command: 'create',
      path: 'escape-dir/planted',
      file_text: 'x',
    });
    expect(write.isError).toBe(true);
    expect((await sh('test -e /tmp/planted; echo $?')).stdout.trim()).toBe('1');
    const search = await call('search', { pattern: 'root', path: 'escape' });
    expect(search.isError).toBe(true);
  });

  it('search finds lines with numbers, honours glob and case, and reports no match', async () => {
    await sh('printf "const Alpha = 1;\\nalpha();\\n" > src/a.ts && printf "alpha\\n" > src/b.py');
    const r = await call('search', { pattern: 'alpha', path: 'src' });
    expect(r.content).toContain('src/a.ts:1:const Alpha = 1;');
    expect(r.content).toContain('src/b.py:1:alpha');
    const cs = await call('search', { pattern: 'alpha', glob: '*.ts', case_sensitive: true });
    expect(cs.content).toBe('src/a.ts:2:alpha();');
    const none = await call('search', { pattern: 'nothing-like-this' });
    expect(none).toMatchObject({ isError: false, content: expect.stringContaining('No matches') });
    const bad = await call('search', { pattern: '(' });
    expect(bad.isError).toBe(true);
  });

  it('search caps the number of matches', async () => {
    await sh('mkdir -p many && for i in $(seq 1 20); do seq 1 100 | sed "s/^/hit /" > many/f$i.txt; done');
    const r = await call('search', { pattern: 'hit', path: 'many' });
    expect(r.content).toMatch(/matches omitted/);
  });

  it('list_files respects .gitignore, summarizes deep folders and caps', async () => {
    const r = await call('list_files', { depth: 2 });
    expect(r.content).toContain('src/abc.txt');
    expect(r.content).toContain('src/deep/ (1 files deeper)');
    expect(r.content).not.toContain('gen/out.js');
    expect(r.content).not.toContain('.git/');
    const sub = await call('list_files', { path: 'src/deep', depth: 5 });
    expect(sub.content).toContain('src/deep/er/est/leaf.ts');
    await sh('mkdir -p lots && for i in $(seq 1 600); do : > lots/f$i; done');
    const capped = await call('list_files', { path: 'lots' });
    expect(capped.content).toContain('100 more entries omitted');
  });

  it('update_plan and finish return effects', async () => {
    const plan = await call('update_plan', { items: [{ step: 'Do it', status: 'in_progress' }] });
    expect(plan.effect).toEqual({ kind: 'plan', items: [{ step: 'Do it', status: 'in_progress' }] });
    const two = await call('update_plan', {
      items: [
        { step: 'a', status: 'in_progress' },
        { step: 'b', status: 'in_progress' },
      ],
    });
    expect(two.isError).toBe(true);
    const fin = await call('finish', { summary: 'Done.' });
    expect(fin.effect).toEqual({ kind: 'finish', summary: 'Done.' });
    const replied = await call('finish', { summary: 'Done.', threads: [{ thread: 1, reply: 'Fixed.' }] });
    expect(replied.effect).toEqual({
      kind: 'finish',
      summary: 'Done.',
      threads: [{ thread: 1, reply: 'Fixed.' }],
    });
    const badThread = await call('finish', { summary: 'Done.', threads: [{ thread: 0, reply: 'x' }] });
    expect(badThread.isError).toBe(true);
    const declined = await call('finish', {
      summary: 'Done.',
      threads: [{ thread: 2, reply: 'I disagree: the name is used by the public API.', status: 'declined' }],
    });
    expect(declined.effect).toMatchObject({ threads: [{ thread: 2, status: 'declined' }] });
    const asked = await call('finish', {
      summary: 'Stopped.',
      needs_input: { question: 'Keep the v1 API?' },
    });
    expect(asked.effect).toEqual({
      kind: 'finish',
      summary: 'Stopped.',
      needsInput: { question: 'Keep the v1 API?' },
    });
    expect((await call('finish', { summary: 'x', needs_input: { question: '' } })).isError).toBe(true);
  });
});
