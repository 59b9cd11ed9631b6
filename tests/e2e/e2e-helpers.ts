import { execFileSync } from 'node:child_process';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../scripts/local-stack.js';
import { createLogger, createSilentLogger } from '../../src/logger.js';

/** E2E_LOG=debug (or info) shows the stack's logs while debugging a test. */
export const log = process.env.E2E_LOG ? createLogger({ level: process.env.E2E_LOG }) : createSilentLogger();

export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 240_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function stack(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  return startLocalStack({ log, ...options });
}

export function trackingComment(s: LocalStack, number: number) {
  return s.github.inspect.comments(s.repo, number).find((c) => c.body.includes('pullwright:tracking'));
}

/** Sandboxes of this stack's workers still present in the Docker engine. */
export function sandboxContainers(label: string): string[] {
  const out = execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

/** Removes containers a test left behind on purpose (a SIGKILLed worker's). */
export function removeContainers(ids: string[]): void {
  if (ids.length > 0) execFileSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore' });
}

/** A container's labels, as the reaper sees them. */
export function containerLabels(id: string): Record<string, string> {
  const out = execFileSync('docker', ['inspect', '--format', '{{json .Config.Labels}}', id], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as Record<string, string>;
}

export async function jobsOf(s: LocalStack) {
  return s.app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
}
