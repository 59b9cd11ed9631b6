/**
 * Minimal glob matching for repository paths (protected paths in repo config):
 * `**` matches any number of path segments, `*` any run of characters within a
 * segment, `?` one character. Patterns are anchored at the repository root; a
 * pattern ending in `/` matches everything below that folder.
 */
export function globToRegExp(glob: string): RegExp {
  let pattern = glob.trim().replace(/^\.?\//, '');
  if (pattern.endsWith('/')) pattern += '**';
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // `**/` matches zero or more whole segments; a trailing `**` matches the rest.
        if (pattern[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

export function matchesAnyGlob(path: string, globs: readonly string[]): string | null {
  const normalized = path.replace(/^\.?\//, '');
  for (const glob of globs) {
    if (globToRegExp(glob).test(normalized)) return glob;
  }
  return null;
}
