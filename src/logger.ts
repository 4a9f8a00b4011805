import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The process's structured log outside HTTP requests (workers, job tasks): pino JSON lines, as
 * Fastify writes for requests. Task handlers take child loggers that carry `bulkChangeId` and
 * `chunk`, and lines about one device carry its `workOrderId`. Nothing secret is ever passed to it:
 * work-order messages are redacted before they are made (clients/redact.ts), and these paths are
 * redacted on top in case a future line hands it an exchange or headers.
 */
export function createLogger(options: {
  level: string;
  /** Where lines go instead of stdout (tests read them). */
  stream?: { write(line: string): void };
}): Logger {
  const settings = {
    level: options.level,
    redact: ['*.authorization', '*.password', '*.headers.authorization', '*.headers.cookie'],
  };
  return options.stream ? pino(settings, options.stream) : pino(settings);
}

/** For code given no logger: writes nothing. */
export const silentLogger: Logger = pino({ level: 'silent' });
