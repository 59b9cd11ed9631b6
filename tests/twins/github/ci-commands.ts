import { spawn } from 'node:child_process';
import { HeadTailBuffer } from '../../../src/github/job-log.js';
import type { AnnotationRec } from './state-ci.js';

/** The scripted CI's parts that touch no records: its file format, annotation commands, and running a command. */

export const CI_FILE = '.twin-ci.json';
const MAX_LOG_BYTES = 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_TIMEOUT_MS = 600_000;

export interface JobSpec {
  name: string;
  command?: string;
  timeoutMs: number;
}

/** `{ name, command, timeoutMs? }` or `{ name?, jobs: [{ name, command, timeoutMs? }] }`; null when invalid. */
export function parseCiFile(text: string): { name: string; jobs: JobSpec[] } | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const o = raw as Record<string, unknown>;
  const job = (j: unknown, fallback: string): JobSpec | null => {
    if (typeof j !== 'object' || j === null) return null;
    const x = j as Record<string, unknown>;
    if (typeof x.command !== 'string' || !x.command.trim()) return null;
    const t = typeof x.timeoutMs === 'number' && x.timeoutMs > 0 ? x.timeoutMs : DEFAULT_TIMEOUT_MS;
    return {
      name: typeof x.name === 'string' && x.name ? x.name : fallback,
      command: x.command,
      timeoutMs: Math.min(t, MAX_TIMEOUT_MS),
    };
  };
  const jobs = Array.isArray(o.jobs) ? o.jobs.map((j, i) => job(j, `job-${i + 1}`)) : [job(o, 'test')];
  if (jobs.length === 0 || jobs.some((j) => j === null)) return null;
  return { name: typeof o.workflow === 'string' ? o.workflow : 'CI', jobs: jobs as JobSpec[] };
}

/** `::error file=src/a.ts,line=3::message` (and `::warning`, `::notice`), as Actions turns them into annotations. */
export function parseAnnotations(log: string): AnnotationRec[] {
  const out: AnnotationRec[] = [];
  const re = /^::(error|warning|notice)\s+([^:]*)::(.*)$/gm;
  for (const m of log.matchAll(re)) {
    const props = Object.fromEntries(
      m[2]!.split(',').map((p) => {
        const i = p.indexOf('=');
        return [p.slice(0, i).trim(), p.slice(i + 1).trim()];
      }),
    ) as Record<string, string>;
    if (!props.file) continue;
    const line = Number(props.line ?? 1) || 1;
    out.push({
      path: props.file,
      startLine: line,
      endLine: Number(props.endLine ?? line) || line,
      level: m[1] === 'error' ? 'failure' : (m[1] as 'warning' | 'notice'),
      message: m[3]!.trim(),
      title: props.title ?? null,
      rawDetails: null,
    });
  }
  return out.slice(0, 50);
}

/** Runs `sh -c command` in `cwd` with a time cap; the output (stdout and stderr) capped, head and tail kept. */
export function runCommand(command: string, cwd: string, timeoutMs: number, env: Record<string, string>) {
  return new Promise<{ code: number | null; timedOut: boolean; output: string }>((resolve) => {
    // Own process group, so a timeout kills whatever the command started too.
    const child = spawn('sh', ['-c', command], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const buffer = new HeadTailBuffer(MAX_LOG_BYTES);
    child.stdout.on('data', (d: Buffer) => buffer.push(d));
    child.stderr.on('data', (d: Buffer) => buffer.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('error', (err) => buffer.push(Buffer.from(String(err))));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, output: buffer.result().text });
    });
  });
}
