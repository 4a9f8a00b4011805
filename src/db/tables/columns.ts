import type { ColumnType } from 'kysely';

/**
 * Column types shared by the table files. bigint ids are parsed to numbers (see database.ts): they
 * stay far below 2^53. `numeric` columns arrive as strings to keep their exact value.
 */

export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
export type DateOnly = ColumnType<string, string, string>;
export type Numeric = ColumnType<string, string | number, string | number>;
export type Json<T = unknown> = ColumnType<T, string | T, string | T>;
