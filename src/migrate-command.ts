import { openCommandDatabase } from './cli-support.ts';
import type { Config } from './config.ts';

/** `simbind migrate`: apply the database migrations and exit. */
export async function migrateCommand(config: Config): Promise<void> {
  const runtime = await openCommandDatabase(config, 'migrate', console.log);
  console.log(runtime.applied.length ? `applied: ${runtime.applied.join(', ')}` : 'migrations are current');
  await runtime.close();
}
