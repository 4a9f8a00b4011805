import { parseArgs } from 'node:util';
import { StartupError, UsageError } from './cli-errors.ts';
import { describeVariables } from './config-variables.ts';
import { ConfigError, loadConfig } from './config.ts';
import { SIMULATE_USAGE } from './simulate-usage.ts';

/**
 * The command line: parses it and hands each command to its module (`*-command.ts`), imported only
 * when that command runs: `simbind user list` need not load the HTTP server, the queue and the
 * simulators (each module costs start-up time under tsx).
 */

const USAGE = `simbind — bulk assignment of IoT/M2M devices to customers

Usage: simbind <command> [options]

Commands:
  serve                 API + worker + UI in one process (migrates; seeds an empty database)
  api                   the HTTP API only
  worker                a queue worker only (start as many as you like, on any machine)
  migrate               apply database migrations and exit
  init --tenant NAME --admin EMAIL [--name NAME]
                        a production start: create a tenant and its first admin (prints a one-time
                        password), no demo data; then \`serve\` with SEED_ON_START=false
  seed [--devices N] [--reset]
                        load the demo data set (N devices, default SEED_DEVICES)
  ${SIMULATE_USAGE}
  config                print the configuration variables as a Markdown table
  openapi               print the API's OpenAPI document (JSON), as served at /docs/json
  token create --user EMAIL [--name NAME]
                        create an API token for that user; prints it once, alone on stdout
  token revoke --id N   revoke the API token with that id
  user list --tenant SLUG
                        the tenant's people: id, e-mail, role, status
  user add --tenant SLUG --email EMAIL --role admin|operator|viewer [--name NAME]
                        add a person; prints a one-time password
  user disable|enable --email EMAIL
                        disabling ends the person's sessions and stops their API tokens at once
  user reset-password --email EMAIL
                        a new one-time password (for a locked-out admin too); sessions end
  secrets keygen        print a new random SECRETS_KEY
  secrets rekey         seal every secret at rest with SECRETS_KEY (plain ones and those
                        sealed with a key listed in SECRETS_KEY_PREVIOUS); all or nothing

Configuration comes from environment variables: see README.md or 'simbind config'.`;

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      devices: { type: 'string' },
      reset: { type: 'boolean', default: false },
      port: { type: 'string' },
      host: { type: 'string' },
      'limit-per-minute': { type: 'string' },
      'limit-per-second': { type: 'string' },
      concurrency: { type: 'string' },
      'fail-rate': { type: 'string' },
      'fail-status': { type: 'string' },
      'latency-ms': { type: 'string' },
      user: { type: 'string' },
      name: { type: 'string' },
      id: { type: 'string' },
      tenant: { type: 'string' },
      admin: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }

  switch (command) {
    case 'config':
      console.log(describeVariables());
      return;
    case 'openapi':
      console.log(
        JSON.stringify(await (await import('./http/openapi.ts')).openApiDocument(loadConfig()), null, 2),
      );
      return;
    case 'simulate':
      return (await import('./simulate-command.ts')).simulateCommand(rest[0], values);
    case 'migrate':
      return (await import('./migrate-command.ts')).migrateCommand(loadConfig());
    case 'seed':
      return (await import('./seed-command.ts')).seedCommand(loadConfig(), values.devices, values.reset);
    case 'token':
      return (await import('./token-command.ts')).tokenCommand(loadConfig(), rest[0], values);
    case 'secrets':
      return (await import('./secrets-command.ts')).secretsCommand(rest[0]);
    case 'init':
      return (await import('./init-command.ts')).initCommand(loadConfig(), values);
    case 'user':
      return (await import('./user-command.ts')).userCommand(loadConfig(), rest[0], values);
    case 'serve':
    case 'api':
    case 'worker':
      return (await import('./serve-command.ts')).serveCommand(loadConfig(), command);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof StartupError) {
    console.error(error.message);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
