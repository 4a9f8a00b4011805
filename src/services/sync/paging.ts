import { UnprocessableError } from '../../errors.ts';

/** A partner's list read page by page: ahead of the writes, in write-sized batches, deduplicated. */

/** A partner that keeps saying "more" must not keep a run going forever. */
const MAX_PAGES = 20_000;

/**
 * A partner's pages in order, the next one asked for while the caller writes the current one: a run
 * costs about the partner's paging time, not paging plus writing. `fetchPage` gets the page before
 * (to continue after it); a failed read ahead surfaces when its turn comes, never unhandled.
 */
export async function* readAhead<P>(
  partner: string,
  fetchPage: (pageNumber: number, previous: P | undefined) => Promise<P>,
  hasMore: (page: P) => boolean,
): AsyncGenerator<P> {
  let next: Promise<P> | undefined = fetchPage(1, undefined);
  for (let pageNumber = 1; next !== undefined; pageNumber++) {
    const page: P = await next;
    if (hasMore(page) && pageNumber >= MAX_PAGES) {
      throw new UnprocessableError(`${partner} kept answering more pages past ${MAX_PAGES}.`);
    }
    next = hasMore(page) ? fetchPage(pageNumber + 1, page) : undefined;
    next?.catch(() => undefined);
    yield page;
  }
}

/** Pages gathered until they hold `atLeast` items (or the pages end): one write each. */
export async function* inBatches<P>(
  pages: AsyncIterable<P>,
  sizeOf: (page: P) => number,
  atLeast: number,
): AsyncGenerator<P[]> {
  let batch: P[] = [];
  let size = 0;
  for await (const page of pages) {
    batch.push(page);
    size += sizeOf(page);
    if (size >= atLeast) {
      yield batch;
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

/** The last of each key: a partner listing a record twice in one page must not fail the upsert. */
export function dedupeBy<T>(items: T[], key: (item: T) => string | number): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}
