/**
 * JSON with object keys sorted, so the same tool input always serializes to the
 * same bytes: the prompt-cache key is a hash of the exact prefix.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** A deep copy with keys sorted, for tool_use inputs that go back into the history. */
export function canonicalize<T>(value: T): T {
  return sortKeys(value) as T;
}
