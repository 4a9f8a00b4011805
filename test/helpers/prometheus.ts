import { expect } from 'vitest';

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)/;

/**
 * A strict reader of the Prometheus text format (0.0.4): every line is a `# HELP`/`# TYPE`
 * comment, empty, or `name{label="value",…} value`; a sample's family is TYPEd before it.
 */
export function parsePrometheus(text: string): Sample[] {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const where = `line ${index + 1}: ${line}`;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      if (type) types.set(type[1]!, type[2]!);
      else expect(line, where).toMatch(new RegExp(`^# HELP ${NAME} .*$`));
      continue;
    }
    const match = SAMPLE.exec(line);
    expect(match, where).not.toBeNull();
    const [, name, labelText = '', raw] = match!;
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest !== '') {
      const label = LABEL.exec(rest);
      expect(label, where).not.toBeNull();
      labels[label![1]!] = label![2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
      rest = rest.slice(label![0].length);
    }
    const value = floatOf(raw!);
    expect(value, where).toBeDefined();
    const family = name!.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(name!) || types.has(family), `${where} (no # TYPE before it)`).toBe(true);
    samples.push({ name: name!, labels, value: value! });
  }
  return samples;
}

/**
 * A sample value as Prometheus reads it (Go's `strconv.ParseFloat`): a decimal or exponent number,
 * or `NaN`/`Inf`/`Infinity` in any case (prom-client writes `Nan` for a gauge with no sample yet).
 */
function floatOf(raw: string): number | undefined {
  if (/^nan$/i.test(raw)) return NaN;
  const infinite = /^([+-]?)inf(inity)?$/i.exec(raw);
  if (infinite) return infinite[1] === '-' ? -Infinity : Infinity;
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : undefined;
}

/** The sum of the samples of `name` whose labels include `labels`; undefined when there is none. */
export function valueOf(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
}
