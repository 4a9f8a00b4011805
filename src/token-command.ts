import { rethrowDomainAsStartup, UsageError } from './cli-errors.ts';
import { openCommandDatabase } from './cli-support.ts';
import type { Config } from './config.ts';
import { createAuthService } from './services/auth.service.ts';

/** `simbind token create --user EMAIL [--name NAME]` and `simbind token revoke --id N`. */
export async function tokenCommand(
  config: Config,
  action: string | undefined,
  options: { user?: string; name?: string; id?: string },
): Promise<void> {
  if (action !== 'create' && action !== 'revoke') throw new UsageError('token needs create or revoke');
  if (action === 'create' && !options.user) throw new UsageError('token create needs --user EMAIL');
  const id = Number(options.id);
  if (action === 'revoke' && !(Number.isInteger(id) && id > 0)) {
    throw new UsageError('token revoke needs --id N (a token id)');
  }
  // stdout carries only the token, so `TOKEN=$(simbind token create …)` works; the rest goes to stderr.
  const runtime = await openCommandDatabase(config, 'token', console.error);
  try {
    // The auth service alone: a token needs neither the queue nor the other services.
    const auth = createAuthService({ db: runtime.database.db, config });
    if (action === 'create') {
      const created = await auth.issueApiToken({ email: options.user!, name: options.name ?? 'cli' });
      const days = config.auth.apiTokenDays;
      const expiry = created.expiresAt
        ? `expires ${created.expiresAt.toISOString()} (in ${days} days, API_TOKEN_DAYS)`
        : 'never expires (API_TOKEN_DAYS=0)';
      console.error(
        `API token ${created.id} "${created.name}" for ${options.user!}, ${expiry}; it is shown only this once:`,
      );
      console.log(created.token);
    } else {
      await auth.revokeApiTokenById(id);
      console.error(`API token ${id} revoked.`);
    }
  } catch (error) {
    rethrowDomainAsStartup(error);
  } finally {
    await runtime.close();
  }
}
