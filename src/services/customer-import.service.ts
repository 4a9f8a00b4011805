import type { Database } from '../db/database.ts';
import {
  findCustomersMatching,
  insertCustomersWithSites,
  listRevAccounts,
  lockCustomerImport,
  renameCustomers,
  type ExistingCustomerRow,
  type NewImportedCustomer,
  type RevAccountRow,
} from '../db/repositories/customer-import.repository.ts';
import type { CustomerKind } from '../db/schema.ts';
import { ConflictError, ForbiddenError } from '../errors.ts';
import { isPrintable, readCsv, rowProblems, type CsvRecord, type RowProblems } from './csv-import.ts';
import type { Principal } from './principal.ts';

/**
 * Customers from a CSV file (issue 11, item 5): AMOP customers and Rev.io customers, each with its
 * default site. Every row is checked first — shape, then against the tenant's Rev.io accounts and
 * customers — and one bad row refuses the file with every problem, nothing written. A valid file is
 * written in ONE transaction, in a fixed number of statements.
 *
 * Re-importing a file creates nothing twice: a row matches an existing AMOP customer by name (any
 * case) and a Rev.io customer by its Rev.io id. A matched AMOP customer is left as it is; a matched
 * Rev.io customer takes the file's name. Existing customers keep their sites.
 *
 * Rev.io ids are not looked up in Rev.io here (one call per row would take minutes for a large
 * file at Rev.io's rate limit); the Rev.io customer sync brings them with Rev.io's own names.
 */

export const CUSTOMER_IMPORT_COLUMNS = [
  'name',
  'kind',
  'rev_customer_id',
  'rev_account',
  'site_name',
  'site_address',
] as const;
export const MAX_CUSTOMER_IMPORT_ROWS = 10_000;
const DEFAULT_SITE = 'Headquarters';
const KINDS: CustomerKind[] = ['amop', 'rev'];

export interface CustomerImportResult {
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
}

export interface CustomerImportService {
  importCsv(principal: Principal, csv: string): Promise<CustomerImportResult>;
}

interface Row {
  line: number;
  name: string;
  kind: CustomerKind;
  revCustomerId: number | null;
  revAccount: string | null;
  siteName: string;
  siteAddress: string | null;
}

/** A row's own checks, and repeats within the file (a name in any case, a Rev.io id). */
function rowsOf(records: CsvRecord[], problems: RowProblems): Row[] {
  const names = new Map<string, number>();
  const revIds = new Map<number, number>();
  return records.map(({ line, value }) => {
    const problem = (column: string, message: string) => problems.add(line, column, message);
    const name = value('name') ?? '';
    if (!name) problem('name', 'is required');
    else if (!isPrintable(name, 200)) problem('name', 'must be at most 200 printable characters');
    const firstName = names.get(name.toLowerCase());
    if (name && firstName !== undefined) problem('name', `repeats line ${firstName}`);
    else names.set(name.toLowerCase(), line);

    const kind = (value('kind') ?? '').toLowerCase() as CustomerKind;
    if (!KINDS.includes(kind)) problem('kind', 'must be amop or rev');
    const revText = value('rev_customer_id');
    const revAccount = value('rev_account');
    let revCustomerId: number | null = null;
    if (kind === 'rev') {
      if (revText === null) problem('rev_customer_id', 'is required for a Rev.io customer');
      else if (!/^[1-9]\d{0,14}$/.test(revText))
        problem('rev_customer_id', 'must be a positive whole number');
      else {
        revCustomerId = Number(revText);
        const first = revIds.get(revCustomerId);
        if (first !== undefined) problem('rev_customer_id', `repeats line ${first}`);
        else revIds.set(revCustomerId, line);
      }
    } else if (kind === 'amop') {
      if (revText !== null) problem('rev_customer_id', 'only for kind rev');
      if (revAccount !== null) problem('rev_account', 'only for kind rev');
    }
    const siteName = value('site_name') ?? DEFAULT_SITE;
    if (!isPrintable(siteName, 200)) problem('site_name', 'must be at most 200 printable characters');
    const siteAddress = value('site_address');
    if (siteAddress !== null && !isPrintable(siteAddress, 500))
      problem('site_address', 'must be at most 500 printable characters');
    return { line, name, kind, revCustomerId, revAccount, siteName, siteAddress };
  });
}

/**
 * The Rev.io account a row names: by name (any case), else by id; empty names the tenant's only
 * Rev.io account when it has exactly one. Another tenant's account is unknown here.
 */
function accountOf(row: Row, accounts: RevAccountRow[], problems: RowProblems): number | null {
  if (row.revAccount === null) {
    if (accounts.length === 1) return accounts[0]!.id;
    problems.add(
      row.line,
      'rev_account',
      accounts.length === 0
        ? 'the tenant has no Rev.io account: add one first'
        : 'is required: the tenant has several Rev.io accounts',
    );
    return null;
  }
  const wanted = row.revAccount.toLowerCase();
  const account =
    accounts.find((a) => a.name.toLowerCase() === wanted) ??
    accounts.find((a) => /^\d+$/.test(wanted) && a.id === Number(wanted));
  if (!account) problems.add(row.line, 'rev_account', `no Rev.io account "${row.revAccount}"`);
  return account?.id ?? null;
}

export function createCustomerImportService(deps: { db: Database }): CustomerImportService {
  return {
    async importCsv(principal, csv) {
      if (principal.role !== 'admin') throw new ForbiddenError('Only administrators import customers.');
      const { tenantId } = principal;
      const records = readCsv(csv, {
        columns: CUSTOMER_IMPORT_COLUMNS,
        required: ['name', 'kind'],
        maxRows: MAX_CUSTOMER_IMPORT_ROWS,
        noun: 'customer',
      });
      const problems = rowProblems();
      const rows = rowsOf(records, problems);

      try {
        // The checks against the tenant's accounts and customers run under the lock, in the writing
        // transaction: what they found is still true when the rows are written. A file with problems
        // of shape gets them too, so one answer lists everything to fix.
        return await deps.db.transaction().execute(async (trx) => {
          await lockCustomerImport(trx, tenantId);
          const [accounts, existing] = await Promise.all([
            listRevAccounts(trx, tenantId),
            findCustomersMatching(trx, tenantId, {
              names: rows.map((r) => r.name),
              revCustomerIds: rows.flatMap((r) => (r.revCustomerId === null ? [] : [r.revCustomerId])),
            }),
          ]);
          const byName = new Map<string, ExistingCustomerRow>();
          for (const c of existing)
            if (!byName.has(c.name.toLowerCase())) byName.set(c.name.toLowerCase(), c);
          const byRevId = new Map(
            existing.flatMap((c) => (c.revCustomerId === null ? [] : [[c.revCustomerId, c]])),
          );

          const created: NewImportedCustomer[] = [];
          const renames: { id: number; name: string }[] = [];
          for (const row of rows) {
            if (!KINDS.includes(row.kind)) continue;
            const named = byName.get(row.name.toLowerCase());
            if (row.kind === 'amop') {
              if (named?.kind === 'rev') {
                problems.add(row.line, 'name', `is a Rev.io customer's (Rev.io id ${named.revCustomerId})`);
              } else if (!named) created.push(newCustomer(row, null));
              continue;
            }
            const credentialsId = accountOf(row, accounts, problems);
            const same = byRevId.get(row.revCustomerId!);
            if (named?.kind === 'amop') {
              problems.add(row.line, 'name', `is an AMOP customer's (customer ${named.id})`);
            } else if (same && credentialsId !== null && same.revCredentialsId !== credentialsId) {
              problems.add(
                row.line,
                'rev_account',
                `customer ${same.id} has this Rev.io id in another account`,
              );
            } else if (same) renames.push({ id: same.id, name: row.name });
            else if (credentialsId !== null) created.push(newCustomer(row, credentialsId));
          }
          problems.throwIfAny();

          const inserted = await insertCustomersWithSites(trx, tenantId, created);
          const updated = await renameCustomers(trx, tenantId, renames);
          return {
            rows: rows.length,
            created: inserted,
            updated,
            unchanged: rows.length - inserted - updated,
          };
        });
      } catch (error) {
        // Only a Rev.io customer created meanwhile by the API or a sync (neither takes the lock).
        if ((error as { code?: string }).code === '23505') {
          throw new ConflictError('A customer of the file was created meanwhile: import the file again.');
        }
        throw error;
      }
    },
  };
}

function newCustomer(row: Row, revCredentialsId: number | null): NewImportedCustomer {
  return {
    name: row.name,
    kind: row.kind,
    revCustomerId: row.revCustomerId,
    revCredentialsId,
    siteName: row.siteName,
    siteAddress: row.siteAddress,
  };
}
