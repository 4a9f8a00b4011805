import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redact, redactHeaders } from '../../src/clients/redact.ts';

/**
 * Property tests of the one redaction every recorded exchange and remote message goes through:
 * generated secrets (quotes, backslashes, control characters, unicode) under every sensitive name,
 * at any depth, in JSON, form bodies, query strings, headers and free text. Each secret is framed
 * by two random markers, so a secret cut in two by an escaped quote still shows as a leak.
 */

/** The names the security review lists; each is matched whatever its case. */
const SECRET_NAMES = [
  'password',
  'secret',
  'token',
  'apiKey',
  'appKey',
  'app_key',
  'client_secret',
  'refresh_token',
  'access_token',
  'subscriptionKey',
  'ocp-apim-subscription-key',
  'x-api-key',
  'authorization',
  'cookie',
  // Names the clients send today.
  'appSecret',
  'sessionToken',
  'vz-m2m-token',
];

/** Fields of the real wire bodies; none may be touched. */
const PLAIN_NAMES = [
  'customer_id',
  'number',
  'number2',
  'description',
  'iccid',
  'status',
  'servicePlan',
  'requestId',
  'accountName',
  'message',
  'error',
  'name',
  'rate',
  'effectiveDate',
  'has_more',
];

const PLAIN_HEADERS = ['accept', 'content-type', 'user-agent', 'x-request-id', 'X-Simbind-Event'];

/** Characters that break naive patterns, mixed with any code point. */
const nastyChar = fc.oneof(
  fc.constantFrom(
    '"',
    '\\',
    '\\"',
    "'",
    '&',
    '=',
    '%',
    '+',
    '#',
    '?',
    ' ',
    '\n',
    ':',
    ',',
    '}',
    'é',
    '😀',
    '\u0000',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const nastyString = fc.string({ unit: nastyChar, maxLength: 24 });
const marker = fc.stringMatching(/^[A-Za-z0-9]{10}$/);

interface Secret {
  value: string;
  markers: [string, string];
}
const secretArb: fc.Arbitrary<Secret> = fc
  .tuple(marker, nastyString, marker)
  .map(([head, core, tail]) => ({ value: `${head}${core}${tail}`, markers: [head, tail] }));

const secretName = fc.mixedCase(fc.constantFrom(...SECRET_NAMES));
const plainName = fc.constantFrom(...PLAIN_NAMES);
const plainValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const plainRecord = fc.dictionary(plainName, plainValue, { maxKeys: 4 });

/** Every form in which a leaked secret could show up in recorded text. */
function leaks(output: string, secret: Secret): string[] {
  const forms = [
    secret.value,
    JSON.stringify(secret.value).slice(1, -1),
    encodeURIComponent(secret.value),
    new URLSearchParams({ s: secret.value }).toString().slice(2),
    ...secret.markers,
  ];
  return forms.filter((form) => output.includes(form));
}

/** One level of nesting around the secret: an object field or an array element, with siblings. */
type Level =
  | { kind: 'object'; key: string; siblings: Record<string, unknown> }
  | { kind: 'array'; before: unknown[]; after: unknown[] };
const levelArb: fc.Arbitrary<Level> = fc.oneof(
  fc.record({ kind: fc.constant('object' as const), key: plainName, siblings: plainRecord }),
  fc.record({
    kind: fc.constant('array' as const),
    before: fc.array(plainValue, { maxLength: 2 }),
    after: fc.array(plainValue, { maxLength: 2 }),
  }),
);

/** The document with `value` under `name` inside the levels (outermost first). */
function nest(levels: Level[], siblings: Record<string, unknown>, name: string, value: unknown): unknown {
  // Built with fromEntries, so a generated key can never reach a prototype.
  let node: unknown = Object.fromEntries([
    ...Object.entries(siblings).filter(([k]) => k !== name),
    [name, value],
  ]);
  for (const level of [...levels].reverse()) {
    node =
      level.kind === 'object'
        ? Object.fromEntries([
            ...Object.entries(level.siblings).filter(([k]) => k !== level.key),
            [level.key, node],
          ])
        : [...level.before, node, ...level.after];
  }
  return node;
}

const jsonCase = fc.record({
  levels: fc.array(levelArb, { maxLength: 5 }),
  siblings: plainRecord,
  name: secretName,
  secret: secretArb,
});

describe('redact: JSON bodies', () => {
  it('replaces the value under every sensitive key, at any depth, and keeps every other field', () => {
    fc.assert(
      fc.property(jsonCase, ({ levels, siblings, name, secret }) => {
        const body = JSON.stringify(nest(levels, siblings, name, secret.value));
        const output = redact(body);
        expect(leaks(output, secret)).toEqual([]);
        expect(JSON.parse(output)).toEqual(nest(levels, siblings, name, REDACTED));
      }),
    );
  });

  it('replaces a sensitive key whose value is a number, an object or an array', () => {
    fc.assert(
      fc.property(secretName, secretArb, fc.integer({ min: 1_000_000 }), (name, secret, pin) => {
        const body = JSON.stringify({
          a: { [name]: { inner: secret.value } },
          b: [{ [name]: [secret.value] }],
          c: { [name]: pin },
        });
        const output = redact(body);
        expect(leaks(output, secret)).toEqual([]);
        expect(output).not.toContain(String(pin));
        expect(JSON.parse(output)).toEqual({
          a: { [name]: REDACTED },
          b: [{ [name]: REDACTED }],
          c: { [name]: REDACTED },
        });
      }),
    );
  });

  it('falls back to a pass over "key":"value" pairs when the body is not JSON, escaped quotes included', () => {
    const around = fc.tuple(
      fc.constantFrom('', 'upstream said: ', '<html><body>', 'Error 500\n'),
      fc.constantFrom(' (truncated', '…', '</body></html>', '\n}'),
    );
    fc.assert(
      fc.property(jsonCase, around, ({ levels, siblings, name, secret }, [before, after]) => {
        const text = `${before}${JSON.stringify(nest(levels, siblings, name, secret.value))}${after}`;
        const output = redact(text);
        expect(leaks(output, secret)).toEqual([]);
        // Everything but the secret's value is kept byte for byte.
        expect(output).toBe(`${before}${JSON.stringify(nest(levels, siblings, name, REDACTED))}${after}`);
      }),
    );
  });

  it('redacts a value cut short by a truncated body', () => {
    fc.assert(
      fc.property(secretName, secretArb, fc.nat(), (name, secret, cutAt) => {
        const full = JSON.stringify({ ok: false, [name]: secret.value, message: 'x' });
        const valueStart = full.indexOf(JSON.stringify(secret.value));
        const cut = full.slice(0, valueStart + 1 + (cutAt % JSON.stringify(secret.value).length));
        const output = redact(cut);
        expect(output.startsWith(`{"ok":false,"${name}":`)).toBe(true);
        expect(output).not.toContain(secret.markers[0]);
      }),
    );
  });

  it('redacts a secret inside a JSON document carried in a string field', () => {
    fc.assert(
      fc.property(secretName, secretArb, (name, secret) => {
        const body = JSON.stringify({
          message: 'upstream refused',
          request: JSON.stringify({ [name]: secret.value, n: 1 }),
        });
        expect(leaks(redact(body), secret)).toEqual([]);
        expect(leaks(redact(`not json: ${body}`), secret)).toEqual([]);
      }),
    );
  });
});

describe('redact: form bodies and URLs', () => {
  const params = fc.array(fc.tuple(plainName, nastyString), { maxLength: 4 });

  it('replaces sensitive fields of a form-encoded body and keeps the others', () => {
    fc.assert(
      fc.property(params, secretName, secretArb, params, (before, name, secret, after) => {
        const form = new URLSearchParams([...before, [name, secret.value], ...after]);
        const output = redact(form.toString());
        expect(leaks(output, secret)).toEqual([]);
        const parsed = [...new URLSearchParams(output)];
        expect(parsed).toEqual([...before, [name, REDACTED], ...after]);
      }),
    );
  });

  it('replaces sensitive query parameters of a URL and keeps the path, the others and the fragment', () => {
    fc.assert(
      fc.property(params, secretName, secretArb, params, (before, name, secret, after) => {
        const query = new URLSearchParams([...before, [name, secret.value], ...after]);
        const url = `https://api.example.test/v1/Services/42?${query.toString()}#top`;
        const output = redact(url);
        expect(leaks(output, secret)).toEqual([]);
        const parsed = new URL(output);
        expect(parsed.pathname).toBe('/v1/Services/42');
        expect(parsed.hash).toBe('#top');
        expect([...parsed.searchParams]).toEqual([...before, [name, REDACTED], ...after]);
      }),
    );
  });

  it('replaces the password of a URL with credentials', () => {
    fc.assert(
      fc.property(secretArb, (secret) => {
        const url = `https://user:${encodeURIComponent(secret.value)}@host.example.test/path?a=1`;
        const output = redact(url);
        expect(leaks(output, secret)).toEqual([]);
        expect(output).toBe(`https://user:${REDACTED}@host.example.test/path?a=1`);
      }),
    );
  });
});

describe('redactHeaders', () => {
  const headers = fc.dictionary(
    fc.constantFrom(...PLAIN_HEADERS),
    fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
    {
      maxKeys: 4,
    },
  );

  it('replaces every sensitive header, whatever its case, and keeps the others', () => {
    fc.assert(
      fc.property(headers, secretName, secretArb, (plain, name, secret) => {
        const output = redactHeaders({ ...plain, [name]: secret.value });
        expect(leaks(JSON.stringify(output), secret)).toEqual([]);
        expect(output).toEqual({ ...plain, [name]: REDACTED });
      }),
    );
  });
});

describe('redact: free text and echoed values', () => {
  it('scrubs the secrets a request carried wherever an answer echoes them', () => {
    fc.assert(
      fc.property(nastyString, secretArb, nastyString, (before, secret, after) => {
        // Worded without a secret name, so only the value can give the secret away.
        const message = `${before}Unknown caller ${secret.value}.${after}`;
        const output = redact(message, [secret.value]);
        expect(leaks(output, secret)).toEqual([]);
        expect(output).toBe(`${before}Unknown caller ${REDACTED}.${after}`);
      }),
    );
  });

  it('scrubs echoed secrets in their JSON-escaped and URL-encoded forms too', () => {
    fc.assert(
      fc.property(secretArb, (secret) => {
        const echoed = JSON.stringify({
          note: `got ${secret.value}`,
          url: `/x?k=${encodeURIComponent(secret.value)}`,
        });
        expect(leaks(redact(echoed, [secret.value]), secret)).toEqual([]);
      }),
    );
  });
});

describe('redact: the cases named in the security review', () => {
  it.each([
    ['subscriptionKey', '{"subscriptionKey":"sk-123-abc"}', 'sk-123-abc'],
    ['client_secret', '{"client_id":"app","client_secret":"cs-456"}', 'cs-456'],
    ['refresh_token', '{"refresh_token":"rt-789","expires_in":3600}', 'rt-789'],
    ['appKey', '{"appKey":"ak-abc","appSecret":"as-def"}', 'ak-abc'],
    ['x-api-key', '{"headers":{"X-Api-Key":"xk-123"}}', 'xk-123'],
    ['escaped quote', '{"username":"u","password":"a\\"b-tail"}', 'b-tail'],
    ['escaped quote, not JSON', 'oops {"username":"u","password":"a\\"b-tail"', 'b-tail'],
    ['form client_secret', 'grant_type=refresh_token&client_secret=cs-456&refresh_token=rt-789', 'cs-456'],
    ['query appKey', 'https://x.test/a?appKey=ak-abc&n=1', 'ak-abc'],
    ['Bearer in text', 'upstream: Authorization: Bearer eyJ.abc.def refused', 'eyJ.abc.def'],
  ])('%s', (_case, input, secret) => {
    const output = redact(input);
    expect(output).not.toContain(secret);
    expect(output).toContain(REDACTED);
  });

  it('leaves a body without secrets exactly as it was', () => {
    const body = '{ "customer_id": 7001,  "number": "5550000001", "rate": 1.50 }';
    expect(redact(body)).toBe(body);
  });
});
