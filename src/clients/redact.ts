/**
 * The one redaction of what we record about an external call: the exchange kept in the change log
 * (URL, request and response headers and bodies) and the error messages built from remote bodies,
 * which end up in work-order messages, the CSV export and log lines. Secrets are recognised by the
 * name they are filed under (a JSON key at any depth, a form or query field, a header, an XML tag),
 * and by value when the caller knows what it sent (an answer echoing our subscription key).
 */

export const REDACTED = '[REDACTED]';

/** A name holding any of these (case, `-` and `_` ignored) files a secret: `client_secret`, `X-Api-Key`. */
const SECRET_WORDS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'appkey',
  'subscriptionkey',
  'privatekey',
  'authorization',
  'cookie',
  'credential',
];
/** Whole names only: inside longer names these mean something else (`passport`, `author`, `keyword`). */
const SECRET_EXACT = new Set(['pass', 'pwd', 'auth', 'key']);

export function isSecretName(name: string): boolean {
  const normalized = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_EXACT.has(normalized) || SECRET_WORDS.some((word) => normalized.includes(word));
}

/**
 * Known secrets shorter than this are not scrubbed by value: replacing every `1234` in an answer
 * would garble it. They are still redacted wherever they are filed under a secret name.
 */
const MIN_KNOWN_SECRET_LENGTH = 6;

/**
 * Any recorded text with its secrets replaced by `[REDACTED]`: a JSON document (walked, so keys
 * match at any depth; re-serialised only when something was replaced), else a form body, a URL,
 * an HTML page or free text, for which the text pass below applies. `known` are values the
 * request carried (see `secretValues`), scrubbed wherever they appear, also JSON- or URL-encoded.
 */
export function redact(text: string, known: readonly string[] = []): string {
  return scrubKnown(redactStructure(text), known);
}

/** Headers by name (any case); the values of the others go through `redact` (a `Location` URL). */
export function redactHeaders(
  headers: Record<string, string>,
  known: readonly string[] = [],
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      isSecretName(name) ? REDACTED : redact(value, known),
    ]),
  );
}

/**
 * The secrets a request carries, to scrub them from the answer too: its secret query parameters,
 * the values of its secret headers (and both halves of `Basic` credentials: ThingSpace's user is
 * its app key) and its body's secret fields.
 */
export function secretValues(request: {
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}): string[] {
  const { headers, body } = request;
  const found = new Set<string>();
  const queryAt = request.url.indexOf('?');
  if (queryAt !== -1) {
    const query = new URLSearchParams(request.url.slice(queryAt + 1).split('#')[0]);
    for (const [name, value] of query) if (isSecretName(name)) found.add(value);
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!isSecretName(name)) continue;
    found.add(value);
    const scheme = /^(\w+)\s+(\S+)$/.exec(value.trim());
    if (scheme) {
      found.add(scheme[2]!);
      if (scheme[1]!.toLowerCase() === 'basic') {
        const decoded = Buffer.from(scheme[2]!, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon >= 0) found.add(decoded.slice(0, colon)).add(decoded.slice(colon + 1));
      }
    }
  }
  if (body !== undefined) {
    const parsed = parseJson(body);
    if (parsed.ok) collectSecretFields(parsed.value, found);
    else if (FORM_BODY.test(body)) {
      for (const [name, value] of new URLSearchParams(body)) if (isSecretName(name)) found.add(value);
    }
  }
  return [...found].filter((value) => value.length >= MIN_KNOWN_SECRET_LENGTH);
}

function collectSecretFields(value: unknown, into: Set<string>, underSecret = false): void {
  if (typeof value === 'string' || typeof value === 'number') {
    if (underSecret) into.add(String(value));
  } else if (Array.isArray(value)) {
    for (const item of value) collectSecretFields(item, into, underSecret);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      collectSecretFields(child, into, underSecret || isSecretName(key));
    }
  }
}

const FORM_BODY = /^[\w.~%+[\]-]+=[^\s]*$/;

function redactStructure(text: string): string {
  if (/^\s*[[{"]/.test(text)) {
    const parsed = parseJson(text);
    if (parsed.ok) {
      // Walking a 500-record Rev.io page (130 KB) takes about 7 ms, at most 500 pages a minute.
      const state = { changed: false };
      const redacted = redactJsonValue(parsed.value, state);
      // Unchanged bodies stay byte for byte as sent (number formats, spacing).
      return state.changed ? JSON.stringify(redacted) : text;
    }
  }
  return redactText(text);
}

function redactJsonValue(value: unknown, state: { changed: boolean }): unknown {
  if (typeof value === 'string') {
    // A string may carry a whole document (an echoed request) or a URL with a token.
    const redacted = redactStructure(value);
    if (redacted !== value) state.changed = true;
    return redacted;
  }
  if (Array.isArray(value)) return value.map((item) => redactJsonValue(item, state));
  if (typeof value !== 'object' || value === null) return value;
  // fromEntries defines own properties: a `__proto__` key stays a key.
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => {
      if (!isSecretName(key)) return [key, redactJsonValue(child, state)];
      state.changed = true;
      return [key, REDACTED];
    }),
  );
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** The pass for text that is not a JSON document: each rule replaces only values, never names. */
function redactText(text: string): string {
  let out = redactQuotedPairs(text);
  out = out.replace(XML_ELEMENT, (whole, tag: string, local: string, attributes: string | undefined) =>
    isSecretName(local) ? `<${tag}${attributes ?? ''}>${REDACTED}</${tag}>` : whole,
  );
  out = out.replace(URL_PASSWORD, `$1${REDACTED}@`);
  out = out.replace(FORM_PAIR, (whole, name: string) =>
    isSecretName(safeDecode(name)) ? `${name}=${REDACTED}` : whole,
  );
  out = out.replace(HEADER_LINE, (whole, name: string, colon: string) =>
    isSecretName(name) ? `${name}${colon}${REDACTED}` : whole,
  );
  out = out.replace(INLINE_HEADER, (whole, name: string, colon: string) =>
    isSecretName(name) ? `${name}${colon}${REDACTED}` : whole,
  );
  return out.replace(BEARER, `$1 ${REDACTED}`);
}

/** `<password>…</password>`, `<ns:apiKey a="1">…</ns:apiKey>`. */
const XML_ELEMENT = /<((?:[\w-]+:)?([\w-]+))(\s[^<>]*)?>[^<]*<\/\1>/g;
/** `scheme://user:password@host`. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)[^\s/?#@]*@/gi;
/**
 * `name=value` in a form body, a query string or a sentence: up to `&`, `#`, a space, a quote or an
 * escaped quote (the pair may sit inside a JSON string).
 */
const FORM_PAIR = /(?<=^|[\s?&;,({[<>"'/])([\w.~%+[\]-]+)=(?:[^&#\s"'<>\\]|\\(?!"))*/g;
/** `Name: value` at the start of a line: the rest of the line. */
const HEADER_LINE = /^([ \t]*[A-Za-z][\w-]*)([ \t]*:[ \t]*)[^\r\n]*/gm;
/**
 * A header quoted inside a sentence (`… refused X-Api-Key: abc`): only header-like names (with a
 * hyphen, or Authorization/Cookie), so prose such as `wrong password: too short` is left alone.
 */
const INLINE_HEADER =
  /(?<![\w-])([A-Za-z][\w]*-[\w-]+|authorization|cookie)([ \t]*:[ \t]*)(?:(?:basic|bearer|digest)[ \t]+)?[^\s,;"'\\]+/gi;
const BEARER = /\b(Bearer)[ \t]+[^\s,;"'\\]+/gi;

/**
 * `"name": value` pairs in text that is not a JSON document (a truncated body, JSON inside an HTML
 * page or a message), also when the pair is itself inside a JSON string and so written `\"name\":`.
 * A regex finds the names; the string value is then scanned to its real closing quote, so an
 * escaped quote (`"a\"b"`) does not end it early, and a value cut off by truncation runs to the end.
 */
function redactQuotedPairs(text: string): string {
  const NAME = /(\\*)"([^"\\\r\n]{1,100})\1"\s*:\s*/g;
  let out = '';
  let copied = 0;
  for (let match = NAME.exec(text); match !== null; match = NAME.exec(text)) {
    const [, escapes = '', name = ''] = match;
    if (!isSecretName(name)) continue;
    const start = NAME.lastIndex;
    const quote = `${escapes}"`;
    let end: number;
    let replacement: string;
    if (text.startsWith(quote, start)) {
      const close = closingQuote(text, start + quote.length, escapes.length);
      end = close === -1 ? text.length : close + quote.length;
      replacement = close === -1 ? `${quote}${REDACTED}` : `${quote}${REDACTED}${quote}`;
    } else {
      const literal = /^[^\s,}\]"\\[{]+/.exec(text.slice(start));
      if (!literal) continue;
      end = start + literal[0].length;
      replacement = `${quote}${REDACTED}${quote}`;
    }
    out += text.slice(copied, start) + replacement;
    copied = end;
    NAME.lastIndex = end;
  }
  return out + text.slice(copied);
}

/**
 * Where the string that starts at `from` closes, written with `level` backslashes before its quotes:
 * the quote whose run of backslashes has length ≡ level mod 2(level + 1) (0 mod 2 in plain JSON,
 * 1 mod 4 one string deep). The index of the run's first backslash, or -1 when it never closes.
 */
function closingQuote(text: string, from: number, level: number): number {
  for (let i = text.indexOf('"', from); i !== -1; i = text.indexOf('"', i + 1)) {
    let run = 0;
    while (i - run - 1 >= from && text[i - run - 1] === '\\') run += 1;
    if (run % (2 * (level + 1)) === level) return i - level;
  }
  return -1;
}

function scrubKnown(text: string, known: readonly string[]): string {
  const forms = new Set<string>();
  for (const secret of known) {
    if (secret.length < MIN_KNOWN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
    try {
      forms.add(encodeURIComponent(secret));
    } catch {
      // A lone surrogate has no URL form; it cannot have been sent in one either.
    }
  }
  // Longest first, so a secret that contains another goes whole.
  const ordered = [...forms].filter((form) => form !== '').sort((a, b) => b.length - a.length);
  return ordered.reduce((out, form) => out.split(form).join(REDACTED), text);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
