import { StartupError, UsageError } from './cli-errors.ts';
import { openCommandDatabase, secretBoxOrExit } from './cli-support.ts';
import { loadConfig } from './config.ts';
import { rekeySecrets } from './db/repositories/credentials.repository.ts';
import { generateSecretKey, SecretKeyError } from './services/secret-box.ts';

/**
 * `simbind secrets keygen|rekey`: a new random SECRETS_KEY (no configuration needed), or every
 * secret at rest sealed again with SECRETS_KEY, all or nothing.
 */
export async function secretsCommand(action: string | undefined): Promise<void> {
  if (action === 'keygen') {
    console.log(generateSecretKey());
    return;
  }
  if (action !== 'rekey') throw new UsageError('secrets needs keygen or rekey');
  const config = loadConfig();
  const box = await secretBoxOrExit(config);
  const runtime = await openCommandDatabase(config, 'secrets', console.error);
  try {
    const result = await rekeySecrets(runtime.database.db, box).catch((error: unknown) => {
      if (error instanceof SecretKeyError) throw new StartupError(`nothing changed: ${error.message}`);
      throw error;
    });
    const { webhooks } = result;
    console.log(
      `${result.rows} integration account(s): ${result.plain} plain and ${result.previous} under a previous key now sealed with key ${box.keyId}; ${result.current} already were`,
    );
    console.log(
      `${webhooks.rows} webhook endpoint(s): ${webhooks.plain} plain and ${webhooks.previous} under a previous key now sealed; ${webhooks.current} already were`,
    );
  } finally {
    await runtime.close();
  }
}
