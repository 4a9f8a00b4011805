import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openApiDocument } from '../../src/http/openapi.ts';

/**
 * The OpenAPI contract as generated clients see it: operationIds become their method names, the
 * shared error schema their error type. Built without a database, as `simbind openapi` builds it.
 */

interface Media {
  schema?: { $ref?: string };
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Answer {
  description?: string;
  content?: Record<string, Media>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, Answer>;
}
interface Document {
  info: { license?: { name: string; url?: string } };
  servers?: { url: string }[];
  components: { schemas: Record<string, { example?: unknown }> };
  paths: Record<string, Record<string, Operation>>;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace']);
const ERROR_RESPONSE = '#/components/schemas/ErrorResponse';
const LEGACY_RESPONSE = '#/components/schemas/LegacyResponse';

async function documentFor(env: Record<string, string>): Promise<Document> {
  return (await openApiDocument(loadConfig({ LOG_LEVEL: 'silent', ...env }))) as unknown as Document;
}

/** Every operation as `[ "POST /api/v1/bulk-changes", operation ]`. */
function operationsOf(doc: Document): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]),
  );
}

function operation(doc: Document, method: string, path: string): Operation {
  const found = doc.paths[path]?.[method];
  if (!found) throw new Error(`no ${method.toUpperCase()} ${path} in the document`);
  return found;
}

let doc: Document;
let operations: [string, Operation][];

beforeAll(async () => {
  doc = await documentFor({});
  operations = operationsOf(doc);
});

describe('the OpenAPI document', () => {
  it('documents the API (the checks below are not about an empty document)', () => {
    expect(operations.length).toBeGreaterThanOrEqual(23);
  });

  it('names every operation with a unique camelCase operationId', () => {
    const ids = operations.map(([name, op]) => {
      expect(op.operationId, name).toMatch(/^[a-z][a-zA-Z]+$/);
      return op.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps the operationIds clients were generated with', () => {
    const idOf = (method: string, path: string) => operation(doc, method, path).operationId;
    expect(idOf('post', '/api/v1/bulk-changes')).toBe('createBulkChange');
    expect(idOf('get', '/api/v1/bulk-changes/{id}')).toBe('getBulkChange');
    expect(idOf('post', '/api/v1/auth/login')).toBe('login');
    expect(idOf('post', '/M2M/AssociateCustomer')).toBe('associateCustomer');
  });

  it('gives every operation a summary and at least one 4xx answer, and every answer a description', () => {
    for (const [name, op] of operations) {
      expect(op.summary?.trim(), name).toBeTruthy();
      const statuses = Object.keys(op.responses);
      expect(
        statuses.some((status) => /^4(\d\d|XX)$/.test(status)),
        `${name} answers ${statuses.join(', ')}`,
      ).toBe(true);
      for (const [status, answer] of Object.entries(op.responses)) {
        expect(answer.description, `${name} ${status}`).toBeTruthy();
        expect(answer.description, `${name} ${status}`).not.toBe('Default Response');
      }
    }
  });

  it('defines the error body once and refers to it from every error answer', () => {
    expect(Object.keys(doc.components.schemas)).toContain('ErrorResponse');
    for (const [name, op] of operations) {
      // The older entry points answer in their own shape, kept for their clients.
      const expected = / \/(M2M|Mobility)\//.test(name) ? LEGACY_RESPONSE : ERROR_RESPONSE;
      for (const [status, answer] of Object.entries(op.responses)) {
        if (!/^[45]/.test(status)) continue;
        expect(answer.content?.['application/json']?.schema, `${name} ${status}`).toEqual({ $ref: expected });
      }
    }
  });

  it('shows examples of the requests and answers people start from', () => {
    const create = operation(doc, 'post', '/api/v1/bulk-changes').requestBody?.content['application/json'];
    const bodies = Object.values(create?.examples ?? {}).map((e) => e.value as Record<string, unknown>);
    expect(bodies.some((body) => body.createRevService === true && body.revService !== undefined)).toBe(true);
    expect(bodies.some((body) => body.dryRun === true)).toBe(true);

    const login = operation(doc, 'post', '/api/v1/auth/login').requestBody?.content['application/json'];
    expect(Object.keys(login?.example ?? {}).sort()).toEqual(['email', 'password']);

    const read = operation(doc, 'get', '/api/v1/bulk-changes/{id}').responses['200']?.content?.[
      'application/json'
    ];
    expect(read?.example).toMatchObject({ changeType: 'customer_assignment', status: 'PROCESSING' });

    expect(doc.components.schemas.ErrorResponse?.example).toMatchObject({ error: { code: 'invalid_input' } });
  });

  it('states the license', () => {
    expect(doc.info.license?.name).toContain('Proprietary');
    expect(doc.info.license?.url).toMatch(/^https:\/\//);
  });
});

describe('the servers entry', () => {
  it('is PUBLIC_URL when one is configured', async () => {
    const configured = await documentFor({ PUBLIC_URL: 'https://simbind.example.net' });
    expect(configured.servers?.[0]?.url).toBe('https://simbind.example.net');
  });

  it('is the origin the document came from when PUBLIC_URL is the loopback default, never localhost', () => {
    expect(doc.servers?.map((s) => s.url)).toEqual(['/']);
  });
});
