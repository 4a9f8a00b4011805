// npm runs this on every install (the `prepare` script). An install without dev dependencies
// (`npm ci --omit=dev`, a production image) has nothing to build the typed client with, and needs
// no client: say so and succeed instead of failing the whole install.
import { execFileSync } from 'node:child_process';

try {
  import.meta.resolve('openapi-typescript');
  import.meta.resolve('typescript');
} catch {
  console.log('simbind/client: not built (dev dependencies not installed)');
  process.exit(0);
}
execFileSync(process.execPath, ['--import', 'tsx', 'client/build.ts'], { stdio: 'inherit' });
