import { sanitizeUntrusted, sanitizeUntrustedCode } from '../../../src/domain/sanitize-untrusted.js';

/**
 * Wraps untrusted text (issue bodies, comments, review threads) in a data fence the
 * system prompt tells the model never to obey. The threat: text that closes the fence
 * early (`</untrusted-data>`) and then speaks as the operator; every spelling of the
 * fence tags inside the content is neutralized, so the fence ends only where we end it.
 * `code` is text GitHub shows as code (a diff hunk): only invisibles and controls go,
 * since reading it as markdown would drop lines under review (a `[ref]: url` line).
 */
export function fenceUntrusted(source: string, text: string, as: 'markdown' | 'code' = 'markdown'): string {
  const sanitized = as === 'code' ? sanitizeUntrustedCode(text) : sanitizeUntrusted(text);
  const clean = sanitized.replace(/<(\/?)\s*untrusted-data/gi, '<$1untrusted-data-text');
  const label = source.replace(/["<>\n]/g, ' ');
  return `<untrusted-data source="${label}">\n${clean}\n</untrusted-data>`;
}
