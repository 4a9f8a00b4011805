import type { TypedApp } from '../app.ts';
import type { Services } from '../../wiring.ts';

/** Placeholder until the reference-data work lands. */
export function referenceRoutes(_app: TypedApp, _services: Services): void {}
