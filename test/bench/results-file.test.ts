import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordFigures, type Figure } from '../../bench/support.ts';

/** bench/results.json keeps one entry per figure id (issue 13), however many runs wrote it. */

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'simbind-results-'));
const file = path.join(dir, 'results.json');
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

const figure = (id: string, name: string, value: number, met: boolean): Figure => ({
  id,
  name,
  value,
  unit: '×',
  target: '≤ 1.5×',
  met,
});

const read = async () => JSON.parse(await fs.readFile(file, 'utf8')) as { figures: Figure[] };

describe('recordFigures', () => {
  it('writes one entry per id: the first figure, the others named in it, met only if all are', async () => {
    const quiet = console.log;
    console.log = () => undefined;
    try {
      await recordFigures('18', [figure('B6', 'gate', 3, false)], file);
      await recordFigures(
        '18',
        [figure('B1', 'ratio', 1.4, true), figure('B1', 'speed-up', 19, false)],
        file,
      );
      await recordFigures('18', [figure('B1', 'ratio', 1.3, true), figure('B1', 'speed-up', 25, true)], file);
    } finally {
      console.log = quiet;
    }
    const { figures } = await read();
    expect(figures.map((f) => f.id)).toEqual(['B1', 'B6']);
    expect(figures[0]).toMatchObject({ value: 1.3, met: true });
    expect(figures[0]!.name).toBe('ratio; also speed-up: 25 × (target ≤ 1.5×, met)');
  });
});
