import { parse } from 'csv-parse/sync';
import { InvalidInputError, PayloadTooLargeError, type FieldProblem } from '../errors.ts';

/**
 * What the CSV imports share (devices, customers: issue 11, item 5). A file has a header row of
 * known columns; every row is checked before anything is written, and one bad row refuses the whole
 * file with every row's problems as `/rows/<line>/<column>` (line 1 is the header), so an operator
 * fixes the file from one answer instead of one error per upload.
 */

export interface CsvSpec {
  /** The columns a header may name, lower case. */
  columns: readonly string[];
  /** Those it must name. */
  required: readonly string[];
  maxRows: number;
  /** What a row is, in messages: "device", "customer". */
  noun: string;
}

export interface CsvRecord {
  /** The file's line the record ends on (1 is the header; blank lines are counted). */
  line: number;
  /** The trimmed value of a column, or null when empty or absent. */
  value: (column: string) => string | null;
}

/** Problems listed in the answer; the message says how many there were in all. */
const MAX_PROBLEMS = 200;

/** The file's records, or a refusal naming what is wrong with the file as a whole. */
export function readCsv(csv: string, spec: CsvSpec): CsvRecord[] {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse<Record<string, string>>(csv, {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
      // A row that stops early (trailing empty cells left out) has those cells empty; a longer row
      // than the header is still refused.
      relax_column_count_less: true,
      info: true,
    }) as unknown as typeof records;
  } catch (error) {
    throw new InvalidInputError('The file is not valid CSV.', [
      { path: '/csv', message: (error as Error).message },
    ]);
  }
  if (records.length === 0) {
    throw new InvalidInputError(`The file has no ${spec.noun} rows.`, [{ path: '/csv', message: 'no rows' }]);
  }
  if (records.length > spec.maxRows) {
    throw new PayloadTooLargeError(
      `At most ${spec.maxRows.toLocaleString('en')} ${spec.noun}s per file; split it.`,
    );
  }
  const columns = Object.keys(records[0]!.record);
  const unknown = columns.filter((c) => !spec.columns.includes(c));
  const missing = spec.required.filter((c) => !columns.includes(c));
  if (missing.length > 0 || unknown.length > 0) {
    throw new InvalidInputError('The header is not as expected.', [
      {
        path: '/csv/header',
        message:
          `columns: ${spec.columns.join(', ')} (${spec.required.join(', ')} required)` +
          (unknown.length ? `; unknown: ${unknown.join(', ')}` : '') +
          (missing.length ? `; missing: ${missing.join(', ')}` : ''),
      },
    ]);
  }
  return records.map(({ record, info }) => ({
    line: info.lines,
    value: (column: string) => (record[column] ?? '').trim() || null,
  }));
}

export interface RowProblems {
  add(line: number, column: string, message: string): void;
  /** Refuses the file (nothing is written) when any row had a problem. */
  throwIfAny(): void;
}

export function rowProblems(): RowProblems {
  const listed: (FieldProblem & { line: number })[] = [];
  let total = 0;
  return {
    add(line, column, message) {
      total += 1;
      if (listed.length < MAX_PROBLEMS) listed.push({ line, path: `/rows/${line}/${column}`, message });
    },
    throwIfAny() {
      if (total === 0) return;
      // In the file's order, whichever check found them first (sort is stable within a line).
      listed.sort((a, b) => a.line - b.line);
      throw new InvalidInputError(
        `${total} problem${total === 1 ? '' : 's'} in the file: nothing was imported.`,
        listed.map(({ path, message }) => ({ path, message })),
      );
    },
  };
}

/** Text a person typed: at most `max` characters, none of them a control character. */
export function isPrintable(text: string, max: number): boolean {
  return text.length <= max && ![...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}
