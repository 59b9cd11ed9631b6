/**
 * Reading a git patch as data for the safety checks (patch-safety.ts): the paths it
 * touches, the lines it adds, and per file the new name, mode, text and binary hunk.
 * Header lines (between `diff --git` and the first hunk) are told from hunk lines,
 * so a removed line that happens to read `-- a/x` is never mistaken for a header.
 */

/** Unquotes a path as git prints it (`"a/with\ttab"` in C style). */
function unquoteGitPath(raw: string): string {
  // git ends ---/+++ names that contain spaces with a tab.
  raw = raw.replace(/\t$/, '');
  if (!raw.startsWith('"')) return raw;
  const inner = raw.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i] as string;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = inner[i + 1] as string;
    if (/[0-7]/.test(next)) {
      bytes.push(Number.parseInt(inner.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      const map: Record<string, number> = { n: 10, t: 9, '"': 34, '\\': 92, a: 7, b: 8, f: 12, r: 13, v: 11 };
      bytes.push(map[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Paths of a `diff --git a/X b/Y` header. Unquoted headers are ambiguous when a
 * path has spaces, but then X and Y are equal (renames are also listed in
 * `rename from/to` lines), so the header is split in the middle.
 */
function diffGitPaths(rest: string): string[] {
  if (rest.startsWith('"') || rest.endsWith('"')) {
    const tokens = rest.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    return tokens.map((t) => unquoteGitPath(t).replace(/^[ab]\//, ''));
  }
  const mid = (rest.length - 1) / 2;
  if (Number.isInteger(mid) && rest[mid] === ' ' && rest.slice(2, mid) === rest.slice(mid + 3)) {
    return [rest.slice(2, mid)];
  }
  return [];
}

/**
 * Walks a git patch, telling header lines (between `diff --git` and the first
 * hunk) from hunk lines, so a removed line that happens to read `-- a/x` is
 * never mistaken for a file header.
 */
function walkPatch(
  patch: string,
  onHeader: (line: string) => void,
  onHunkLine: (line: string, currentPath: string) => void,
): void {
  let inHeader = false;
  let currentPath = '';
  for (const line of patch.split('\n')) {
    if (line.startsWith('diff --git ')) {
      inHeader = true;
      const paths = diffGitPaths(line.slice('diff --git '.length));
      currentPath = paths[paths.length - 1] ?? '';
      onHeader(line);
    } else if (inHeader && (line.startsWith('@@') || line === 'GIT binary patch')) {
      inHeader = false;
      onHeader(line);
    } else if (inHeader) {
      if (line.startsWith('+++ ') && !line.endsWith('/dev/null')) {
        currentPath = unquoteGitPath(line.slice(4)).replace(/^b\//, '');
      }
      onHeader(line);
    } else {
      onHunkLine(line, currentPath);
    }
  }
}

/** Every path a git patch touches (old and new sides, so a rename yields both). */
export function pathsInPatch(patch: string): string[] {
  const paths = new Set<string>();
  walkPatch(
    patch,
    (line) => {
      if (line.startsWith('diff --git ')) {
        for (const path of diffGitPaths(line.slice('diff --git '.length))) paths.add(path);
        return;
      }
      const fileLine = /^(?:---|\+\+\+) (.*)$/.exec(line);
      if (fileLine?.[1] && fileLine[1] !== '/dev/null') {
        paths.add(unquoteGitPath(fileLine[1]).replace(/^[ab]\//, ''));
        return;
      }
      const rename = /^(?:rename|copy) (?:from|to) (.*)$/.exec(line);
      if (rename?.[1]) paths.add(unquoteGitPath(rename[1]));
    },
    () => {},
  );
  return [...paths].sort();
}

/** One file of a patch, as far as the checks need it. */
export interface PatchFile {
  /** The name after the change; null when the file is deleted. */
  newPath: string | null;
  /** The name is new: an added file, or the target of a rename or copy. */
  newName: boolean;
  newMode: string | null;
  /** The new side's text lines that the hunks show (added and context). */
  newLines: string[];
  /** The last new-side line has no newline (`\ No newline at end of file`). */
  noFinalNewline: boolean;
  /** The forward half of a `GIT binary patch` section. */
  binary: { header: string; lines: string[] } | null;
}

export function readPatchFiles(patch: string): PatchFile[] {
  const files: PatchFile[] = [];
  let file: PatchFile | null = null;
  let binary: 'none' | 'header' | 'forward' | 'done' = 'none';
  let lastNewSide = false;
  walkPatch(
    patch,
    (line) => {
      if (line.startsWith('diff --git ')) {
        const paths = diffGitPaths(line.slice('diff --git '.length));
        file = {
          newPath: paths[paths.length - 1] ?? null,
          newName: false,
          newMode: null,
          newLines: [],
          noFinalNewline: false,
          binary: null,
        };
        files.push(file);
        binary = 'none';
        return;
      }
      if (!file) return;
      if (line === 'GIT binary patch') {
        binary = 'header';
        return;
      }
      const mode =
        /^(?:new file mode|new mode) ([0-7]+)$/.exec(line) ??
        /^index [0-9a-f]+\.\.[0-9a-f]+ ([0-7]+)$/.exec(line);
      const renamed = /^(?:rename|copy) to (.*)$/.exec(line);
      if (mode) file.newMode = mode[1] as string;
      if (line.startsWith('new file mode ')) file.newName = true;
      else if (line.startsWith('deleted file mode ')) file.newPath = null;
      else if (renamed) {
        file.newPath = unquoteGitPath(renamed[1] as string);
        file.newName = true;
      } else if (line.startsWith('+++ ') && line !== '+++ /dev/null')
        file.newPath = unquoteGitPath(line.slice(4)).replace(/^b\//, '');
    },
    (line) => {
      const f = file as PatchFile | null;
      if (!f) return;
      if (binary === 'header') {
        f.binary = { header: line, lines: [] };
        binary = 'forward';
      } else if (binary === 'forward') {
        if (line === '') binary = 'done';
        else f.binary?.lines.push(line);
      } else if (binary === 'none') {
        if (line.startsWith('+') || line.startsWith(' ')) {
          f.newLines.push(line.slice(1));
          lastNewSide = true;
          return;
        }
        if (line.startsWith('\\') && lastNewSide) f.noFinalNewline = true;
        lastNewSide = false;
      }
    },
  );
  return files;
}

/** Lines the patch adds, with the file they belong to. */
export function addedLines(patch: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  walkPatch(
    patch,
    () => {},
    (line, path) => {
      if (line.startsWith('+')) out.push({ path, text: line.slice(1) });
    },
  );
  return out;
}
