import { describe, expect, it } from 'vitest';
import { describeVariables, VARIABLES } from '../src/config-variables.ts';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('config', () => {
  it('has a working default for every variable: no configuration is needed to start', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.database.url).toBeUndefined();
    expect(config.database.embedded.port).toBe(54329);
    expect(config.seed).toEqual({ onStart: true, devices: 10000 });
    expect(config.integrations.simulators).toBe('auto');
    expect(Object.isFrozen(config.worker)).toBe(true);
  });

  it('reads and types values', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/simbind',
      SEED_ON_START: 'false',
      SIMULATORS: 'off',
    });
    expect(config.http.port).toBe(8080);
    expect(config.database.url).toBe('postgres://u:p@db:5432/simbind');
    expect(config.seed.onStart).toBe(false);
    expect(config.integrations.simulators).toBe('off');
  });

  it('lists every bad variable at once, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        CHUNK_SIZE: '0',
        SEED_ON_START: 'maybe',
        SIMULATORS: 'sometimes',
        DATABASE_URL: 'mysql://root:hunter2@db/x',
        SESSION_SECRET: 'short',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(6);
    expect(problems.join('\n')).toMatch(/PORT: must be an integer/);
    expect(problems.join('\n')).toMatch(/CHUNK_SIZE: must be ≥ 1/);
    expect(problems.join('\n')).toMatch(/SEED_ON_START: must be true or false/);
    expect(problems.join('\n')).toMatch(/SIMULATORS: must be one of auto, on, off/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL: must use postgres: or postgresql:/);
    expect(problems.join('\n')).toMatch(/SESSION_SECRET: must be at least 32 characters/);
    expect((error as Error).message).not.toContain('hunter2');
    expect((error as Error).message).not.toContain('short');
  });

  it('documents every variable in the README table', () => {
    const table = describeVariables();
    for (const name of Object.keys(VARIABLES)) expect(table).toContain(`\`${name}\``);
  });
});
