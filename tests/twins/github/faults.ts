import type { FaultRule, TwinFaults } from './types.js';

interface ActiveRule extends FaultRule {
  id: string;
  fired: number;
  matcher: RegExp;
}

export type FaultOutcome =
  | { kind: 'respond'; status: number; body: Record<string, unknown>; headers: Record<string, string> }
  | { kind: 'delay'; ms: number };

const DOCS = 'https://docs.github.com/rest';

/** '*' matches one path segment, '**' the rest; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]+';
    else out += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Faults fire before routing, so clients see them exactly where GitHub would answer. */
export class FaultInjector implements TwinFaults {
  private rules: ActiveRule[] = [];
  private seq = 0;

  add(rule: FaultRule): string {
    this.seq += 1;
    const id = `fault-${this.seq}`;
    const matcher =
      rule.path instanceof RegExp ? rule.path : rule.path ? globToRegExp(rule.path) : /^(?!\/_twin\/).*/;
    this.rules.push({ ...rule, id, fired: 0, matcher });
    return id;
  }

  remove(id: string): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clear(): void {
    this.rules = [];
  }

  list(): (FaultRule & { id: string; fired: number })[] {
    return this.rules.map(({ matcher: _m, ...r }) => ({ ...r }));
  }

  /** Returns every outcome that fires for this request: delays first, then at most one response. */
  match(method: string, path: string): FaultOutcome[] {
    const outcomes: FaultOutcome[] = [];
    let responded = false;
    for (const rule of this.rules) {
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (!rule.matcher.test(path)) continue;
      if (rule.times !== undefined && rule.fired >= rule.times) continue;
      if (rule.probability !== undefined && Math.random() >= rule.probability) continue;
      if (rule.kind !== 'latency' && responded) continue;
      rule.fired += 1;
      const retryAfter = String(rule.retryAfter ?? 1);
      switch (rule.kind) {
        case 'latency':
          outcomes.push({ kind: 'delay', ms: rule.latencyMs ?? 100 });
          break;
        case 'status': {
          const status = rule.status ?? 500;
          responded = true;
          outcomes.push({
            kind: 'respond',
            status,
            body: {
              message: status === 502 ? 'Server Error' : 'Internal Server Error',
              documentation_url: DOCS,
            },
            headers: {},
          });
          break;
        }
        case 'secondary-rate-limit':
          responded = true;
          outcomes.push({
            kind: 'respond',
            status: 403,
            body: {
              message:
                'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
              documentation_url:
                'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
            },
            headers: { 'retry-after': retryAfter },
          });
          break;
        case 'rate-limit':
          responded = true;
          outcomes.push({
            kind: 'respond',
            status: 429,
            body: { message: 'API rate limit exceeded', documentation_url: DOCS },
            headers: {
              'retry-after': retryAfter,
              'x-ratelimit-remaining': '0',
              'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + Number(retryAfter)),
            },
          });
          break;
      }
    }
    return outcomes;
  }
}
