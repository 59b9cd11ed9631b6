import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear in a log object. Tokens, keys and
 * authorization headers must never reach a log line, whatever a caller passes.
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'privateKey',
  '*.privateKey',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'env.GITHUB_PRIVATE_KEY',
  'env.ANTHROPIC_API_KEY',
  'env.WEBHOOK_SECRET',
];

const TOKEN_PATTERNS: RegExp[] = [
  /gh[pousr]_[A-Za-z0-9]{20,}/g,
  /github_pat_[A-Za-z0-9_]{20,}/g,
  /sk-ant-[A-Za-z0-9_-]{10,}/g,
  /x-access-token:[^@\s]+@/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g,
];

/** Removes anything that looks like a credential from free text (error messages, tool output). */
export function redactText(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of extraSecrets) {
    if (secret.length >= 6) out = out.split(secret).join('[REDACTED]');
  }
  for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, '[REDACTED]');
  return out;
}

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    base: { service: options.name ?? 'pullwright' },
    serializers: {
      err: (err: unknown) => {
        const serialized = pino.stdSerializers.err(err as Error);
        if (serialized && typeof serialized.message === 'string')
          serialized.message = redactText(serialized.message);
        if (serialized && typeof serialized.stack === 'string')
          serialized.stack = redactText(serialized.stack);
        return serialized;
      },
    },
  };
  return pino(opts);
}

/** A logger that writes nothing, for unit tests and library defaults. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
