#!/usr/bin/env node
// Runs simbind's TypeScript sources directly through tsx: no build step between a clone and `npm start`.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
