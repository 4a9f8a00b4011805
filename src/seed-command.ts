import { UsageError } from './cli-errors.ts';
import { openCommandDatabase, printLogins, secretBoxOrExit } from './cli-support.ts';
import type { Config } from './config.ts';
import { seedDemoData } from './services/seed.service.ts';

/** `simbind seed [--devices N] [--reset]`: the demo data set (N devices, default SEED_DEVICES). */
export async function seedCommand(
  config: Config,
  devicesArg: string | undefined,
  reset: boolean,
): Promise<void> {
  const devices = devicesArg === undefined ? config.seed.devices : Number(devicesArg);
  if (!Number.isInteger(devices) || devices < 0 || devices > 1_000_000) {
    throw new UsageError('--devices must be an integer from 0 to 1,000,000');
  }
  const secretBox = await secretBoxOrExit(config);
  const runtime = await openCommandDatabase(config, 'seed', console.log);
  try {
    const result = await seedDemoData(runtime.database.db, { devices, reset, secretBox });
    console.log(
      `seeded ${result.devices.toLocaleString('en')} devices in ${(result.durationMs / 1000).toFixed(1)} s`,
    );
    printLogins();
  } finally {
    await runtime.close();
  }
}
