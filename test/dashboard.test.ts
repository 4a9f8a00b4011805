import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.ts';

/**
 * The Grafana dashboard (deploy/grafana-dashboard.json) queries only series that simbind registers:
 * a renamed or dropped metric fails here instead of leaving an empty panel in production.
 */
describe('deploy/grafana-dashboard.json', () => {
  it('queries only simbind series that the registry has, and covers each of them', async () => {
    const dashboard = JSON.parse(
      await readFile(new URL('../deploy/grafana-dashboard.json', import.meta.url), 'utf8'),
    ) as { panels: { title: string; targets: { expr: string }[] }[] };
    const registered = new Set(
      (await createMetrics().registry.getMetricsAsJSON())
        .map((m) => m.name)
        .filter((n) => n.startsWith('simbind_')),
    );
    const queried = new Set(
      dashboard.panels
        .flatMap((p) => p.targets.map((t) => t.expr))
        .flatMap((expr) => [...expr.matchAll(/\bsimbind_[a-z_]+/g)].map((m) => m[0]))
        .map((name) => name.replace(/_(bucket|count|sum)$/, '')),
    );
    expect([...queried].filter((name) => !registered.has(name))).toEqual([]);
    expect([...registered].filter((name) => !queried.has(name))).toEqual([]);
    expect(dashboard.panels.every((p) => p.title && p.targets.length > 0)).toBe(true);
  });
});
