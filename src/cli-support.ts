import { StartupError } from './cli-errors.ts';
import type { Config } from './config.ts';
import { openDatabase, resolveSecretBox, type DatabaseRuntime } from './runtime.ts';
import { SecretKeyError, type SecretBox } from './services/secret-box.ts';
import { DEMO_LOGINS } from './services/seed.service.ts';

/** What the commands that open the database share. */

/** The key problem as a start-up failure (no stack): the operator fixes it in the configuration. */
export async function secretBoxOrExit(config: Config): Promise<SecretBox> {
  try {
    return await resolveSecretBox(config);
  } catch (error) {
    if (error instanceof SecretKeyError) throw new StartupError(error.message);
    throw error;
  }
}

/** A one-shot command's database: migrated first, named `simbind-<command>` in pg_stat_activity. */
export function openCommandDatabase(
  config: Config,
  command: string,
  log: (line: string) => void,
): Promise<DatabaseRuntime> {
  return openDatabase(config, { migrate: true, applicationName: `simbind-${command}`, log });
}

export function printLogins(): void {
  const rows = DEMO_LOGINS.map((l) => [l.tenant, l.role, l.email, l.password]);
  const header = ['tenant', 'role', 'e-mail', 'password'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`;
  console.log('\nDemo logins:');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log('');
}
