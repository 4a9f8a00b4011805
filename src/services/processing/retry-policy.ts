import { PermanentError, RetryableError } from '../../errors.ts';

/**
 * The failure policy of one external call (DESIGN "Failure policy"): transient failures are retried
 * with exponential backoff and full jitter, honouring Retry-After, up to `maxAttempts`; a 429 is the
 * remote telling us to wait, so waiting it out does not use up an attempt. Permanent failures are
 * not retried.
 */

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** 429s waited out per call before giving up anyway (a remote that never stops throttling). */
  maxThrottleWaits: number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxThrottleWaits: 20,
};

export type Attempt<T> = (context: {
  attempt: number;
  previousError: RetryableError | undefined;
}) => Promise<T>;

export type Outcome<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; error: RetryableError | PermanentError; retryable: boolean; attempts: number };

export async function withRetries<T>(policy: RetryPolicy, attempt: Attempt<T>): Promise<Outcome<T>> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  let attempts = 0;
  let throttleWaits = 0;
  let previousError: RetryableError | undefined;
  for (;;) {
    attempts += 1;
    try {
      return { ok: true, value: await attempt({ attempt: attempts, previousError }), attempts };
    } catch (error) {
      if (error instanceof PermanentError) return { ok: false, error, retryable: false, attempts };
      if (!(error instanceof RetryableError)) throw error;
      previousError = error;
      const throttled = error.status === 429;
      if (throttled && throttleWaits < policy.maxThrottleWaits) {
        throttleWaits += 1;
        attempts -= 1;
      } else if (attempts >= policy.maxAttempts) {
        return { ok: false, error, retryable: true, attempts };
      }
      await sleep(delayFor(policy, attempts, error.retryAfterMs));
    }
  }
}

/** Retry-After when the remote gave one; else exponential backoff with full jitter. */
export function delayFor(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, 60_000);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.random() * ceiling);
}
