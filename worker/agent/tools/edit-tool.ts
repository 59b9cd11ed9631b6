import { z } from 'zod';
import type { Sandbox } from '../../sandbox/sandbox.js';
import type { Tool, ToolResult } from '../tool.js';
import { defineTool, toolError } from './define-tool.js';
import { resolveWorkspacePath } from './workspace-path.js';

export interface EditToolOptions {
  /** Lines shown by `view` without a view_range before the file is windowed. */
  maxViewLines: number;
  /** Characters per shown line; longer lines (minified code) are cut. */
  maxLineChars: number;
  /** Characters a file view shows at most (the loop caps a tool result too). */
  maxViewChars: number;
  /** Entries a directory view lists at most. */
  maxDirEntries: number;
  /** Largest file create may write. */
  maxFileBytes: number;
}

export const EditInput = z
  .strictObject({
    command: z.enum(['view', 'create', 'str_replace', 'insert']),
    path: z.string().min(1).describe('File or directory path, relative to the workspace root.'),
    file_text: z.string().optional().describe('create: the whole content of the file.'),
    old_str: z
      .string()
      .optional()
      .describe('str_replace: the exact text to replace; must occur exactly once.'),
    new_str: z
      .string()
      .optional()
      .describe('str_replace: the replacement (empty deletes); insert: the text to insert.'),
    insert_line: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('insert: insert after this line (0 = top of file).'),
    view_range: z
      .tuple([z.number().int().min(1), z.number().int().min(-1)])
      .optional()
      .describe('view: [start, end] lines, 1-based and inclusive; end -1 means to the end of the file.'),
  })
  .superRefine((v, ctx) => {
    const need = (field: keyof typeof v) => {
      if (v[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} is required for ${v.command}` });
    };
    if (v.command === 'create') need('file_text');
    if (v.command === 'str_replace') need('old_str');
    if (v.command === 'insert') {
      need('insert_line');
      need('new_str');
    }
    if (v.command === 'str_replace' && v.old_str === '')
      ctx.addIssue({ code: 'custom', path: ['old_str'], message: 'old_str must not be empty' });
  });
export type EditInput = z.infer<typeof EditInput>;

const SNIPPET_CONTEXT = 4;
const EXCLUDED_DIRS = new Set(['node_modules', '__pycache__', '.git']);

function numbered(lines: string[], firstLine: number, maxLineChars: number): string {
  return lines
    .map((line, i) => {
      const shown = line.length > maxLineChars ? `${line.slice(0, maxLineChars)} [... line cut]` : line;
      return `${String(firstLine + i).padStart(6)}\t${shown}`;
    })
    .join('\n');
}

/** Lines of a text file; a final newline does not make an extra empty line. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  return lines;
}

function decodeText(buf: Buffer): string | null {
  // A NUL byte, or bytes that are not UTF-8, mean a binary file the model cannot edit as text.
  if (buf.subarray(0, 8192).includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return null;
  }
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function snippet(text: string, centerLine: number, extraLines: number, options: EditToolOptions): string {
  const lines = splitLines(text);
  const start = Math.max(1, centerLine - SNIPPET_CONTEXT);
  const end = Math.min(lines.length, centerLine + extraLines + SNIPPET_CONTEXT);
  return numbered(lines.slice(start - 1, end), start, options.maxLineChars);
}

interface TextFile {
  text: string;
  /** The file uses CRLF line ends; edits write them back, so the diff shows only the change. */
  crlf: boolean;
}

async function readText(sandbox: Sandbox, absolute: string, shown: string): Promise<TextFile | ToolResult> {
  const buf = await sandbox.readFile(absolute);
  const text = decodeText(buf);
  if (text === null)
    return toolError(
      `${shown} looks like a binary file (${buf.length} bytes); it cannot be viewed or edited as text.`,
    );
  const crlf = text.includes('\r\n') && !/(^|[^\r])\n/.test(text);
  return { text: crlf ? text.replace(/\r\n/g, '\n') : text, crlf };
}

function encodeText(text: string, crlf: boolean): string {
  return crlf ? text.replace(/\n/g, '\r\n') : text;
}

/**
 * A window of a file too large to read whole: `sed` prints only the asked lines inside
 * the sandbox, so a 500 MB log never crosses into the host.
 */
async function viewLargeFile(
  sandbox: Sandbox,
  absolute: string,
  shown: string,
  sizeBytes: number,
  range: [number, number] | undefined,
  options: EditToolOptions,
  signal: AbortSignal,
): Promise<ToolResult> {
  const start = range?.[0] ?? 1;
  const asked = range === undefined || range[1] === -1 ? start + options.maxViewLines - 1 : range[1];
  if (asked < start) return toolError(`view_range end ${asked} is before its start ${start}.`);
  const end = Math.min(asked, start + options.maxViewLines - 1);
  const out = await sandbox.exec({
    cmd: ['sed', '-n', `${start},${end}p;${end}q`, '--', absolute],
    timeoutMs: 60_000,
    maxOutputBytes: options.maxViewChars * 4,
    signal,
  });
  if (out.exitCode !== 0) return toolError(`Cannot read ${shown}: ${out.stderr.trim()}`);
  if (out.stdout.includes('\0'))
    return toolError(`${shown} looks like a binary file; it cannot be viewed as text.`);
  const lines = splitLines(out.stdout);
  if (lines.length === 0) return toolError(`${shown} has fewer than ${start} lines.`);
  let body = numbered(lines, start, options.maxLineChars);
  if (body.length > options.maxViewChars) body = `${body.slice(0, options.maxViewChars)} [... cut]`;
  const last = start + lines.length - 1;
  return {
    content: `${body}\n[${shown} is large (${sizeBytes} bytes); showing lines ${start}-${last}. Use view_range [${last + 1}, ${last + options.maxViewLines}] for more, or search for a line.]`,
    isError: false,
  };
}

async function viewDirectory(
  sandbox: Sandbox,
  absolute: string,
  shown: string,
  options: EditToolOptions,
  signal: AbortSignal,
): Promise<ToolResult> {
  // find -P never follows links; names with a newline are rare enough to show as is.
  const out = await sandbox.exec({
    cmd: [
      'find',
      '-P',
      absolute,
      '-mindepth',
      '1',
      '-maxdepth',
      '2',
      '(',
      '-name',
      '.*',
      '-o',
      '-name',
      'node_modules',
      '-o',
      '-name',
      '__pycache__',
      ')',
      '-prune',
      '-o',
      '-printf',
      '%y %P\\n',
    ],
    timeoutMs: 30_000,
    maxOutputBytes: 2 * 1024 ** 2,
    signal,
  });
  if (out.exitCode !== 0) return toolError(`Cannot list ${shown}: ${out.stderr.trim()}`);
  const entries = out.stdout
    .split('\n')
    .filter((l) => l.length > 2)
    .map((l) => ({ dir: l[0] === 'd', path: l.slice(2) }))
    .filter((e) => !e.path.split('/').some((p) => EXCLUDED_DIRS.has(p) || p.startsWith('.')))
    .sort((a, b) => a.path.localeCompare(b.path));
  const shownEntries = entries.slice(0, options.maxDirEntries);
  const lines = shownEntries.map((e) => `${e.path}${e.dir ? '/' : ''}`);
  const omitted = entries.length - shownEntries.length;
  const header = `Files and directories up to 2 levels deep in ${shown}, hidden items and node_modules excluded:`;
  const tail = omitted > 0 ? `\n[... ${omitted} more entries omitted; view a subdirectory to see them]` : '';
  return { content: `${header}\n${lines.join('\n') || '(empty)'}${tail}`, isError: false };
}

export function createEditTool(options: EditToolOptions): Tool<EditInput> {
  return defineTool({
    name: 'str_replace_based_edit_tool',
    description: [
      'Views, creates and edits files in the workspace. Paths are relative to the workspace root.',
      '* view: a file is shown with line numbers (like cat -n); use view_range [start, end] for part of a long file (end -1 = to the end).',
      `A file longer than ${options.maxViewLines} lines is shown in part, with a note on how to see more. A directory is listed 2 levels deep (hidden items and node_modules excluded).`,
      '* create: writes file_text to path, making parent directories; an existing file is overwritten.',
      '* str_replace: replaces old_str with new_str. old_str must match EXACTLY (whitespace and indentation included) and occur exactly once; include enough surrounding lines to make it unique.',
      '* insert: inserts new_str after line insert_line (0 = at the top).',
      'Binary files are refused. Line numbers in views are not part of the file: never include them in old_str.',
    ].join('\n'),
    input: EditInput,
    async run(input, ctx) {
      const resolved = await resolveWorkspacePath(ctx.sandbox, input.path, ctx.signal);
      if (!resolved.ok) return toolError(resolved.error);
      const shown = resolved.relative;
      if (input.command === 'view') {
        if (!resolved.exists) return toolError(`${shown} does not exist.`);
        if (resolved.kind === 'directory') {
          if (input.view_range) return toolError('view_range applies to files, not directories.');
          return viewDirectory(ctx.sandbox, resolved.absolute, shown, options, ctx.signal);
        }
        if (resolved.kind !== 'file') return toolError(`${shown} is not a regular file.`);
        if (resolved.sizeBytes > options.maxFileBytes)
          return viewLargeFile(
            ctx.sandbox,
            resolved.absolute,
            shown,
            resolved.sizeBytes,
            input.view_range,
            options,
            ctx.signal,
          );
        const file = await readText(ctx.sandbox, resolved.absolute, shown);
        if (!('text' in file)) return file;
        const lines = splitLines(file.text);
        if (lines.length === 0) return { content: `${shown} is empty.`, isError: false };
        let start = 1;
        let end = lines.length;
        let note = '';
        if (input.view_range) {
          [start, end] = input.view_range;
          if (end === -1) end = lines.length;
          if (start > lines.length)
            return toolError(
              `view_range start ${start} is past the end of ${shown} (${lines.length} lines).`,
            );
          if (end < start) return toolError(`view_range end ${end} is before its start ${start}.`);
          end = Math.min(end, lines.length);
        }
        // Lines and characters both bound the window, so one view fits a tool result.
        let chars = 0;
        let fit = start;
        while (fit <= end && fit - start < options.maxViewLines) {
          chars += Math.min((lines[fit - 1] ?? '').length, options.maxLineChars) + 8;
          if (chars > options.maxViewChars && fit > start) break;
          fit++;
        }
        if (fit <= end) {
          end = fit - 1;
          note = `\n[Showing lines ${start}-${end} of ${lines.length}. Use view_range [${end + 1}, -1] (or a smaller window) to see more, or the search tool to find a line.]`;
        }
        return {
          content: `${numbered(lines.slice(start - 1, end), start, options.maxLineChars)}${note}`,
          isError: false,
        };
      }
      if (resolved.relative === '.' || resolved.relative.split('/')[0] === '.git')
        return toolError(`${input.path} cannot be written (the workspace root or git internals).`);
      if (input.command === 'create') {
        const fileText = input.file_text ?? '';
        if (Buffer.byteLength(fileText) > options.maxFileBytes)
          return toolError(`file_text is larger than ${options.maxFileBytes} bytes.`);
        if (resolved.kind === 'directory' || resolved.kind === 'other')
          return toolError(`${shown} exists and is not a regular file.`);
        await ctx.sandbox.writeFile(resolved.absolute, fileText);
        const verb = resolved.exists ? 'overwritten' : 'created';
        return { content: `File ${verb}: ${shown} (${splitLines(fileText).length} lines).`, isError: false };
      }
      if (!resolved.exists)
        return toolError(`${shown} does not exist. Use the create command to make a new file.`);
      if (resolved.kind !== 'file') return toolError(`${shown} is not a regular file.`);
      if (resolved.sizeBytes > options.maxFileBytes)
        return toolError(
          `${shown} is ${resolved.sizeBytes} bytes, too large to edit with this tool (limit ${options.maxFileBytes}); use bash (sed, a script) instead.`,
        );
      const file = await readText(ctx.sandbox, resolved.absolute, shown);
      if (!('text' in file)) return file;
      const { text, crlf } = file;
      if (input.command === 'str_replace') {
        const oldStr = (input.old_str ?? '').replace(/\r\n/g, '\n');
        const newStr = (input.new_str ?? '').replace(/\r\n/g, '\n');
        const first = text.indexOf(oldStr);
        if (first === -1)
          return toolError(
            `No replacement was performed: old_str did not appear verbatim in ${shown}. View the file and copy the exact text (whitespace included).`,
          );
        const lines: number[] = [];
        for (let i = first; i !== -1; i = text.indexOf(oldStr, i + 1)) lines.push(lineOf(text, i));
        if (lines.length > 1)
          return toolError(
            `No replacement was performed: old_str occurs ${lines.length} times in ${shown}, at lines ${lines.join(', ')}. Include more surrounding text to make it unique.`,
          );
        const updated = text.slice(0, first) + newStr + text.slice(first + oldStr.length);
        await ctx.sandbox.writeFile(resolved.absolute, encodeText(updated, crlf));
        const startLine = lineOf(updated, first);
        const view = snippet(updated, startLine, splitLines(newStr).length, options);
        return {
          content: `Edited ${shown}. A snippet of the result:\n${view}\nReview it; edit again if it is not what you meant.`,
          isError: false,
        };
      }
      // insert
      const lines = splitLines(text);
      const at = input.insert_line ?? 0;
      if (at > lines.length)
        return toolError(
          `insert_line ${at} is past the end of ${shown}, which has ${lines.length} lines (valid: 0-${lines.length}).`,
        );
      const inserted = splitLines((input.new_str ?? '').replace(/\r\n/g, '\n'));
      const result = [...lines.slice(0, at), ...inserted, ...lines.slice(at)];
      const keepsFinalNewline = text === '' || text.endsWith('\n') || at === lines.length;
      const updated = result.join('\n') + (keepsFinalNewline ? '\n' : '');
      await ctx.sandbox.writeFile(resolved.absolute, encodeText(updated, crlf));
      const view = snippet(updated, at + 1, inserted.length, options);
      return {
        content: `Inserted ${inserted.length} line(s) into ${shown} after line ${at}. A snippet of the result:\n${view}`,
        isError: false,
      };
    },
  });
}
