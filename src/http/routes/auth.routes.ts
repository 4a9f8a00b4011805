import type { TypedApp } from '../app.ts';
import type { Services } from '../../wiring.ts';

/** Placeholder until the sign-in work lands. */
export function authRoutes(_app: TypedApp, _services: Services): void {}
