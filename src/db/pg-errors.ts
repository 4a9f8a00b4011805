/** PostgreSQL errors simbind answers in kind (SQLSTATE codes, as node-postgres reports them). */

/** The statement broke the unique constraint or index `constraint`. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}

/**
 * Runs `work` (a whole transaction) again when PostgreSQL chose it as a deadlock's victim: the
 * victim was rolled back whole, so running it again is safe. Ordered writes are what prevent
 * deadlocks; this is the net under them.
 */
export async function retryOnDeadlock<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: string }).code !== '40P01' || attempt >= attempts) throw error;
    }
  }
}
