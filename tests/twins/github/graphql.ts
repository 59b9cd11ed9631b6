/**
 * Just enough GraphQL for the `reviewThreads` query: a hand-written matcher on the operation text,
 * with `$variables` resolved. Anything else gets a GraphQL error, never a guess.
 */

export interface ReviewThreadsQuery {
  owner: string;
  name: string;
  number: number;
  threadsFirst: number;
  commentsFirst: number;
}

function argument(query: string, field: string, arg: string, variables: Record<string, unknown>): unknown {
  const fieldMatch = new RegExp(`\\b${field}\\s*\\(([^)]*)\\)`).exec(query);
  if (!fieldMatch) return undefined;
  const argMatch = new RegExp(`\\b${arg}\\s*:\\s*(\\$\\w+|"(?:[^"\\\\]|\\\\.)*"|-?\\d+)`).exec(
    fieldMatch[1] ?? '',
  );
  if (!argMatch) return undefined;
  const raw = argMatch[1]!;
  if (raw.startsWith('$')) return variables[raw.slice(1)];
  if (raw.startsWith('"')) return JSON.parse(raw) as string;
  return Number(raw);
}

export function parseReviewThreadsQuery(
  query: string,
  variables: Record<string, unknown>,
): ReviewThreadsQuery | { error: string } {
  if (!/\breviewThreads\b/.test(query) || /^\s*mutation\b/.test(query)) {
    return { error: 'The GitHub twin only answers the reviewThreads query.' };
  }
  const owner = argument(query, 'repository', 'owner', variables);
  const name = argument(query, 'repository', 'name', variables);
  const number = argument(query, 'pullRequest', 'number', variables);
  if (typeof owner !== 'string' || typeof name !== 'string') {
    return { error: "Argument 'owner' and 'name' on Field 'repository' are required." };
  }
  if (typeof number !== 'number' || !Number.isInteger(number)) {
    return { error: "Argument 'number' on Field 'pullRequest' has an invalid value." };
  }
  const threadsFirst = argument(query, 'reviewThreads', 'first', variables);
  const commentsFirst = argument(query, 'comments', 'first', variables);
  return {
    owner,
    name,
    number,
    threadsFirst: typeof threadsFirst === 'number' ? threadsFirst : 100,
    commentsFirst: typeof commentsFirst === 'number' ? commentsFirst : 100,
  };
}
