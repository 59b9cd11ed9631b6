/**
 * The one error type of Pullwright. Callers branch on `code`, never on message text;
 * `retryable` tells the queue whether another attempt can help.
 */
export const ErrorCode = [
  'config_invalid',
  'input_invalid',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'rate_limited',
  'upstream_unavailable',
  'timeout',
  'cancelled',
  'budget_exceeded',
  'sandbox_failed',
  'patch_rejected',
  'git_failed',
  'internal',
] as const;
export type ErrorCode = (typeof ErrorCode)[number];

export interface PullwrightErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  /** Extra structured data for logs; must never hold secrets. */
  details?: Record<string, unknown>;
}

// A sandbox that failed under a job (the engine restarted, the container died) is an
// infrastructure problem: another attempt in a fresh container can succeed.
const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'rate_limited',
  'upstream_unavailable',
  'timeout',
  'sandbox_failed',
]);

export class PullwrightError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: PullwrightErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PullwrightError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.details = options.details ?? {};
  }
}

export function isPullwrightError(value: unknown): value is PullwrightError {
  return value instanceof PullwrightError;
}

/** Wraps anything thrown into a PullwrightError, keeping an existing one as is. */
export function toPullwrightError(value: unknown, fallback: ErrorCode = 'internal'): PullwrightError {
  if (value instanceof PullwrightError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new PullwrightError(fallback, message, { cause: value });
}
