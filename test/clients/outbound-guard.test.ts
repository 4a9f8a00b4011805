import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  classifyAddress,
  createOutboundGuard,
  type AddressCategory,
  type Resolve,
} from '../../src/clients/outbound-guard.ts';
import { createWebhookClient, signPayload, verifySignature } from '../../src/clients/webhook.client.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { PermanentError, RetryableError } from '../../src/errors.ts';

/**
 * The outbound guard of webhooks. Only loopback is ever connected to (this machine's rule): the other
 * ranges are judged at the guard itself, with a resolver stub and no connection; end to end, loopback
 * receivers on 127.0.0.1 and 127.0.0.2 show refusals, redirects and the connect-time check.
 */

const TABLE: Record<AddressCategory, string[]> = {
  loopback: [
    '127.0.0.1',
    '127.1.2.3',
    '127.255.255.254',
    '::1',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
  ],
  private: [
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '100.127.255.254',
    'fc00::1',
    'fd12:3456::1',
    'fdff:ffff:ffff::1',
    'fec0::1',
    '::ffff:10.0.0.1',
    '::ffff:a00:1',
    '::10.0.0.1',
    '2002:c0a8:101::1',
  ],
  'link-local': [
    '169.254.0.1',
    '169.254.255.255',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    '::ffff:169.254.1.1',
  ],
  metadata: [
    '169.254.169.254',
    '169.254.170.2',
    '100.100.100.200',
    '192.0.0.192',
    'fd00:ec2::254',
    '::ffff:169.254.169.254',
    '64:ff9b::a9fe:a9fe',
  ],
  unspecified: ['0.0.0.0', '0.1.2.3', '::', '0:0:0:0:0:0:0:0', '::ffff:0.0.0.0'],
  multicast: ['224.0.0.1', '239.255.255.250', 'ff02::1', 'ff05::1:3'],
  reserved: [
    '240.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '192.0.2.1',
    '203.0.113.9',
    '2001:db8::1',
    '100::1',
  ],
  public: [
    '8.8.8.8',
    '93.184.216.34',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.255.255',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    'fbff::1',
  ],
};

describe('classifyAddress', () => {
  const rows = Object.entries(TABLE).flatMap(([category, ips]) => ips.map((ip) => [ip, category] as const));
  it.each(rows)('%s is %s', (ip, category) => {
    expect(classifyAddress(ip)).toBe(category);
  });

  it('throws on what is not an IP address', () => {
    expect(() => classifyAddress('example.com')).toThrow(/not an IP address/);
  });
});

/** A resolver stub: the guard under test never opens a connection with these answers. */
function stub(answers: Record<string, string[]>): Resolve & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (host: string) => {
    asked.push(host);
    const found = answers[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };
  return Object.assign(resolve, { asked });
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('expected a refusal'),
    (error: unknown) => error as Error,
  );
}

describe('createOutboundGuard: check', () => {
  it.each([
    ['10.0.0.5', 'private'],
    ['169.254.169.254', 'metadata'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
  ])('refuses a name that resolves to %s, naming the host and the category', async (address, category) => {
    const resolve = stub({ 'hooks.example.com': [address] });
    const guard = createOutboundGuard({ allow: [], resolve, system: 'webhook' });
    const error = await refusal(guard.check('https://hooks.example.com/in?token=t0k3n'));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toBe(
      `webhook: hooks.example.com resolves to ${address}, which is a ${category} address, not an allowed destination`,
    );
    expect(error.message).not.toContain('t0k3n');
    expect(resolve.asked).toEqual(['hooks.example.com']);
  });

  it('allows a name that resolves to public addresses only', async () => {
    const resolve = stub({ 'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] });
    await expect(
      createOutboundGuard({ allow: [], resolve }).check('https://hooks.example.com/'),
    ).resolves.toBe(undefined);
  });

  it('refuses a name when any one of its addresses is refused', async () => {
    const resolve = stub({ 'mixed.example.com': ['93.184.216.34', '10.0.0.5'] });
    const error = await refusal(
      createOutboundGuard({ allow: [], resolve }).check('http://mixed.example.com/'),
    );
    expect(error.message).toContain('10.0.0.5, which is a private address');
  });

  it('judges an IP literal without a lookup, in every spelling the URL parser accepts', async () => {
    const resolve = stub({});
    const guard = createOutboundGuard({ allow: [], resolve });
    for (const [url, category] of [
      ['http://10.0.0.5:8080/hook', 'private'],
      ['http://[::ffff:169.254.169.254]/latest/meta-data/', 'metadata'],
      ['http://[fd00:ec2::254]/', 'metadata'],
      ['http://0x7f.1/', 'loopback'],
      ['http://2130706433/', 'loopback'],
      ['http://0/', 'unspecified'],
    ]) {
      const error = await refusal(guard.check(url!));
      expect(error).toBeInstanceOf(PermanentError);
      expect(error.message).toContain(`is a ${category} address`);
    }
    expect(resolve.asked).toEqual([]);
    await expect(guard.check('http://93.184.216.34/hook')).resolves.toBe(undefined);
  });

  it('refuses other schemes and URLs with credentials, before any lookup', async () => {
    const resolve = stub({ 'hooks.example.com': ['93.184.216.34'] });
    const guard = createOutboundGuard({ allow: ['loopback', 'private'], resolve });
    for (const url of ['file:///etc/passwd', 'ftp://hooks.example.com/', 'gopher://hooks.example.com:70/']) {
      expect((await refusal(guard.check(url))).message).toMatch(/only http and https URLs are called/);
    }
    for (const url of ['http://user:pass@hooks.example.com/', 'https://user@hooks.example.com/']) {
      const error = await refusal(guard.check(url));
      expect(error).toBeInstanceOf(PermanentError);
      expect(error.message).toMatch(/URLs with credentials are refused \(hooks\.example\.com\)/);
      expect(error.message).not.toContain('pass');
    }
    expect((await refusal(guard.check('not a url'))).message).toMatch(/not a valid URL/);
    expect(resolve.asked).toEqual([]);
  });

  it('allows the categories it is told to, and nothing else', async () => {
    const resolve = stub({
      'intranet.example': ['10.0.0.5'],
      'metadata.example': ['169.254.169.254'],
      'local.example': ['127.0.0.1'],
    });
    const guard = createOutboundGuard({ allow: ['private'], resolve });
    await expect(guard.check('http://intranet.example/')).resolves.toBe(undefined);
    expect((await refusal(guard.check('http://metadata.example/'))).message).toContain('metadata address');
    expect((await refusal(guard.check('http://local.example/'))).message).toContain('loopback address');
  });

  it('allows addresses inside the CIDRs it is told to, IPv4-mapped ones included', async () => {
    const resolve = stub({
      'in.example': ['10.1.2.3'],
      'out.example': ['10.2.0.1'],
      'mapped.example': ['::ffff:10.1.9.9'],
      'ula.example': ['fd12::1'],
      'host.example': ['192.168.7.7'],
    });
    const guard = createOutboundGuard({ allow: ['10.1.0.0/16', 'fd00::/8', '192.168.7.7'], resolve });
    await expect(guard.check('http://in.example/')).resolves.toBe(undefined);
    await expect(guard.check('http://mapped.example/')).resolves.toBe(undefined);
    await expect(guard.check('http://ula.example/')).resolves.toBe(undefined);
    await expect(guard.check('http://host.example/')).resolves.toBe(undefined);
    expect((await refusal(guard.check('http://out.example/'))).message).toContain('10.2.0.1');
  });

  it('treats a name that does not resolve as transient', async () => {
    const error = await refusal(
      createOutboundGuard({ allow: [], resolve: stub({}) }).check('http://gone.example/'),
    );
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(/cannot resolve gone\.example \(ENOTFOUND\)/);
  });

  it('refuses an allow-list entry it does not understand, and so does the configuration', () => {
    expect(() => createOutboundGuard({ allow: ['intranet'] })).toThrow(/"intranet" is not one of/);
    expect(loadConfig({}).webhooks.allowAddresses).toEqual([]);
    expect(
      loadConfig({ WEBHOOK_ALLOW_ADDRESSES: ' loopback, 10.0.0.0/8 ,fd00::/8' }).webhooks.allowAddresses,
    ).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8']);
    let error: unknown;
    try {
      loadConfig({ WEBHOOK_ALLOW_ADDRESSES: 'loopback,10.0.0.0/33,lan' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^WEBHOOK_ALLOW_ADDRESSES: "10\.0\.0\.0\/33" is not one of/),
      expect.stringMatching(/^WEBHOOK_ALLOW_ADDRESSES: "lan" is not one of/),
    ]);
  });
});

interface Receiver {
  hits: { path: string; headers: http.IncomingHttpHeaders; body: string }[];
  base: string;
  port: number;
  /** Next answers, in order; 200 once they run out. */
  answers: { status: number; location?: string }[];
  close(): Promise<void>;
}

async function startReceiver(host: string): Promise<Receiver> {
  const receiver = { hits: [], answers: [] } as unknown as Receiver;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      receiver.hits.push({ path: req.url ?? '/', headers: req.headers, body });
      const answer = receiver.answers.shift() ?? { status: 200 };
      res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.base = `http://${host}:${receiver.port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

describe('webhook deliveries through the guard (loopback only)', () => {
  const secret = 'whsec-guard-test';
  const body = '{"event":"bulk_change.completed","data":{"id":7}}';
  const message = (url: string) => ({ url, secret, event: 'bulk_change.completed', deliveryId: 7, body });
  let first: Receiver;
  let second: Receiver;

  beforeAll(async () => {
    first = await startReceiver('127.0.0.1');
    second = await startReceiver('127.0.0.2');
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
  });
  beforeEach(() => {
    for (const receiver of [first, second]) {
      receiver.hits.length = 0;
      receiver.answers.length = 0;
    }
  });

  it('refuses a loopback endpoint when loopback is not allowed: the receiver gets nothing', async () => {
    const webhooks = createWebhookClient({ timeoutMs: 2_000 });
    for (const url of [`${first.base}/hook`, `http://localhost:${first.port}/hook`]) {
      const error = await refusal(webhooks.post(message(url)));
      expect(error).toBeInstanceOf(PermanentError);
      expect(error.message).toMatch(
        /^webhook: (127\.0\.0\.1|localhost resolves to \S+, which) is a loopback address/,
      );
    }
    expect(first.hits).toHaveLength(0);
  });

  it('delivers to a loopback endpoint when loopback is allowed, with a signature that verifies', async () => {
    const webhooks = createWebhookClient({ timeoutMs: 2_000, allow: ['loopback'] });
    const result = await webhooks.post(message(`${first.base}/hook`));
    expect(result.status).toBe(200);
    const [hit, ...more] = first.hits;
    expect(more).toHaveLength(0);
    expect(hit!.body).toBe(body);
    expect(verifySignature(secret, hit!.body, hit!.headers['x-simbind-signature'] as string)).toBe(true);
  });

  it('follows a redirect to an allowed address, re-sending the same signed POST', async () => {
    const webhooks = createWebhookClient({ timeoutMs: 2_000, allow: ['loopback'] });
    first.answers.push({ status: 307, location: `${second.base}/moved` });
    await webhooks.post(message(`${first.base}/hook`));
    expect(first.hits).toHaveLength(1);
    const [hit] = second.hits;
    expect(hit).toMatchObject({ path: '/moved', body });
    expect(hit!.headers['x-simbind-signature']).toBe(first.hits[0]!.headers['x-simbind-signature']);
    expect(verifySignature(secret, hit!.body, hit!.headers['x-simbind-signature'] as string)).toBe(true);
  });

  it('refuses a redirect to an address not allowed: the second receiver gets nothing', async () => {
    const webhooks = createWebhookClient({ timeoutMs: 2_000, allow: ['127.0.0.1/32'] });
    first.answers.push({ status: 302, location: `${second.base}/` });
    const error = await refusal(webhooks.post(message(`${first.base}/hook`)));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 302 });
    expect(error.message).toBe(
      'webhook 302: redirect refused: 127.0.0.2 is a loopback address, not an allowed destination',
    );
    expect(first.hits).toHaveLength(1);
    expect(second.hits).toHaveLength(0);
  });

  it('follows at most 3 redirects', async () => {
    const webhooks = createWebhookClient({ timeoutMs: 2_000, allow: ['loopback'] });
    for (let i = 0; i < 5; i++) first.answers.push({ status: 302, location: `/again/${i}` });
    const error = await refusal(webhooks.post(message(`${first.base}/hook`)));
    expect(error.message).toBe('webhook 302: more than 3 redirects');
    expect(first.hits.map((h) => h.path)).toEqual(['/hook', '/again/0', '/again/1', '/again/2']);
  });

  it('connects only to checked addresses: a name re-resolving to a refused one fails at connect', async () => {
    // First answer 127.0.0.1 (allowed) for the check, then 127.0.0.2 (not allowed) at connect: the
    // DNS-rebinding move. The connection resolves through the guard, so it never reaches 127.0.0.2.
    let calls = 0;
    const rebinding: Resolve = async () => (calls++ === 0 ? ['127.0.0.1'] : ['127.0.0.2']);
    const webhooks = createWebhookClient({ timeoutMs: 2_000, allow: ['127.0.0.1/32'], resolve: rebinding });
    const error = await refusal(webhooks.post(message(`http://hooks.test:${second.port}/hook`)));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toBe(
      'webhook: hooks.test resolves to 127.0.0.2, which is a loopback address, not an allowed destination',
    );
    expect(calls).toBe(2);
    expect(second.hits).toHaveLength(0);

    // The same name resolving to an allowed address is delivered (the system resolver knows no `hooks.test`).
    const steady = createWebhookClient({
      timeoutMs: 2_000,
      allow: ['127.0.0.1/32'],
      resolve: async () => ['127.0.0.1'],
    });
    await steady.post(message(`http://hooks.test:${first.port}/hook`));
    expect(first.hits).toHaveLength(1);
  });
});

describe('signatures', () => {
  const secret = 'whsec-replay-test';
  const body = '{"id":1}';

  it('refuses a replay older than the tolerance (default 300 s), and one from too far ahead', () => {
    const now = 1_750_000_000;
    const header = signPayload(secret, body, now - 301);
    expect(header).toMatch(/^t=1749999699,v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, body, header, { now })).toBe(false);
    expect(verifySignature(secret, body, header, { now, toleranceSeconds: 600 })).toBe(true);
    expect(verifySignature(secret, body, signPayload(secret, body, now - 299), { now })).toBe(true);
    expect(verifySignature(secret, body, signPayload(secret, body, now + 301), { now })).toBe(false);
    expect(verifySignature(secret, body, signPayload(secret, body))).toBe(true);
  });
});
