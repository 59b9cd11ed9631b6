import { sanitizeUntrusted } from '../../../src/domain/sanitize-untrusted.js';

/**
 * Wraps untrusted text (issue bodies, comments, review threads) in a data fence the
 * system prompt tells the model never to obey. The threat: text that closes the fence
 * early (`</untrusted-data>`) and then speaks as the operator; every spelling of the
 * fence tags inside the content is neutralized, so the fence ends only where we end it.
 */
export function fenceUntrusted(source: string, text: string): string {
  const clean = sanitizeUntrusted(text).replace(/<(\/?)\s*untrusted-data/gi, '<$1untrusted-data-text');
  const label = source.replace(/["<>\n]/g, ' ');
  return `<untrusted-data source="${label}">\n${clean}\n</untrusted-data>`;
}
