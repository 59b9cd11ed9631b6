import { createHash } from 'node:crypto';
import type { PromptBlock } from './tokens.js';
import type { CacheReport, Usage } from './types.js';

/** At most this many blocks may carry cache_control in one request. */
export const MAX_CACHE_BREAKPOINTS = 4;
/** A breakpoint looks for an existing entry at its own position and this many positions in total (itself included). */
export const CACHE_LOOKBACK_BLOCKS = 20;
export const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
export type CacheTtl = keyof typeof TTL_MS;

/** Minimum cacheable prefix by model class (the real API has per-model values; see README). */
export function minCacheableTokensFor(model: string): number {
  return /haiku/i.test(model) ? 2048 : 1024;
}

export class CacheRuleError extends Error {
  override readonly name = 'CacheRuleError';
}

/**
 * The breakpoints of a request, in prompt order, after checking the rules the real API
 * enforces with a 400. Changes nothing, so a request can be checked before it is answered.
 */
export function checkBreakpoints(blocks: PromptBlock[]): { position: number; ttl: CacheTtl }[] {
  const breakpoints: { position: number; ttl: CacheTtl }[] = [];
  blocks.forEach((block, position) => {
    if (block.cacheControl) breakpoints.push({ position, ttl: block.cacheControl.ttl ?? '5m' });
  });
  if (breakpoints.length > MAX_CACHE_BREAKPOINTS) {
    throw new CacheRuleError(
      `A maximum of ${MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints.length}.`,
    );
  }
  // Longer-lived entries must precede shorter ones: a 1h entry whose prefix holds a 5m
  // breakpoint could outlive the part of the prefix it depends on.
  let seenShort = false;
  for (const bp of breakpoints) {
    if (bp.ttl === '5m') seenShort = true;
    else if (seenShort) {
      throw new CacheRuleError(
        "A cache_control block with ttl='1h' must not come after a cache_control block with ttl='5m'.",
      );
    }
  }

  return breakpoints;
}

interface Entry {
  expiresAt: number;
  ttl: CacheTtl;
}

export interface CacheOutcome {
  usage: Usage;
  report: CacheReport;
}

/**
 * The twin's prompt cache, shared by every request to one server (as the real
 * cache is shared by an organization). An entry is keyed by the model and a hash
 * chained over the canonical content of every block up to and including a
 * breakpoint, so it matches only an identical prefix.
 */
export class PromptCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number) {}

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Checks the breakpoint rules, then looks up and writes entries for one request.
   * Throws CacheRuleError for what the real API rejects with a 400.
   */
  apply(model: string, blocks: PromptBlock[], minCacheableTokens: number): CacheOutcome {
    const breakpoints = checkBreakpoints(blocks);
    const now = this.now();
    // Expired entries are dropped lazily on lookup; sweep now and then so a long-running
    // standalone twin does not keep every prefix it ever saw.
    if (this.entries.size > 5_000) {
      for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    }
    const keys: string[] = [];
    const prefixTokens: number[] = [];
    let hash = createHash('sha256').update(`model:${model}`).digest('hex');
    let running = 0;
    for (const block of blocks) {
      hash = createHash('sha256').update(hash).update('\u0000').update(block.canonical).digest('hex');
      keys.push(hash);
      running += block.tokens;
      prefixTokens.push(running);
    }
    const total = running;

    const live = (position: number): Entry | undefined => {
      const key = keys[position];
      if (key === undefined) return undefined;
      const entry = this.entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
        return undefined;
      }
      return entry;
    };

    // Lookup: each breakpoint checks its own position and the positions just before it,
    // within the lookback window; the longest prefix found wins.
    let hit = -1;
    for (const bp of breakpoints) {
      const lowest = Math.max(0, bp.position - CACHE_LOOKBACK_BLOCKS + 1);
      for (let p = bp.position; p >= lowest; p -= 1) {
        if (live(p)) {
          hit = Math.max(hit, p);
          break;
        }
      }
    }
    const readTokens = hit >= 0 ? prefixTokens[hit]! : 0;

    // A hit refreshes the entry it read, and every entry this request marks inside the read prefix.
    const refresh = (position: number, ttl: CacheTtl) => {
      const entry = live(position);
      if (!entry) return false;
      const longest: CacheTtl = entry.ttl === '1h' || ttl === '1h' ? '1h' : '5m';
      entry.ttl = longest;
      entry.expiresAt = Math.max(entry.expiresAt, now + TTL_MS[longest]);
      return true;
    };
    if (hit >= 0) {
      const hitTtl = breakpoints.find((bp) => bp.position >= hit)?.ttl ?? '5m';
      refresh(hit, hitTtl);
    }

    const writes: CacheReport['writes'] = [];
    for (const bp of breakpoints) {
      const tokens = prefixTokens[bp.position]!;
      if (bp.position <= hit) {
        // Inside the prefix already read: keep or add the entry at no extra cost.
        if (!refresh(bp.position, bp.ttl) && tokens >= minCacheableTokens) {
          this.entries.set(keys[bp.position]!, { ttl: bp.ttl, expiresAt: now + TTL_MS[bp.ttl] });
        }
        continue;
      }
      if (tokens < minCacheableTokens) continue;
      this.entries.set(keys[bp.position]!, { ttl: bp.ttl, expiresAt: now + TTL_MS[bp.ttl] });
      writes.push({ position: bp.position, ttl: bp.ttl, prefixTokens: tokens });
    }

    // Tokens written are those between the hit and the last entry written; each stretch is
    // billed at the TTL of the entry that ends it.
    let creation5m = 0;
    let creation1h = 0;
    let from = readTokens;
    for (const w of writes) {
      const stretch = w.prefixTokens - from;
      if (w.ttl === '1h') creation1h += stretch;
      else creation5m += stretch;
      from = w.prefixTokens;
    }
    const creation = creation5m + creation1h;

    return {
      usage: {
        input_tokens: total - readTokens - creation,
        output_tokens: 0,
        cache_creation_input_tokens: creation,
        cache_read_input_tokens: readTokens,
        cache_creation: { ephemeral_5m_input_tokens: creation5m, ephemeral_1h_input_tokens: creation1h },
      },
      report: {
        breakpoints: breakpoints.map((bp) => ({ ...bp, prefixTokens: prefixTokens[bp.position]! })),
        hitPosition: hit,
        writes,
        totalInputTokens: total,
      },
    };
  }
}
