import { DomainError } from './errors.ts';

/** The two kinds of failure main.ts prints for every command. */

/** A bad command line: printed with the usage text. */
export class UsageError extends Error {}

/** A start-up failure the operator can fix; printed without a stack or the usage text. */
export class StartupError extends Error {}

/** A refusal of the rules (no such user, name taken…) is the operator's to fix: no stack. */
export function rethrowDomainAsStartup(error: unknown): never {
  if (error instanceof DomainError) throw new StartupError(error.message);
  throw error;
}
