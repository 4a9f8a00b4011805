import nodemailer from 'nodemailer';
import { PermanentError, RetryableError } from '../errors.ts';
import { REDACTED } from './http-client.ts';

/**
 * E-mail over SMTP (nodemailer), configured by one URL such as `smtp://user:pass@host:587`.
 * Failures become `RetryableError` / `PermanentError` like the HTTP clients': an SMTP 4xx reply or a
 * lost connection may pass later, a 5xx reply will not. Their messages end up in the delivery log,
 * and nodemailer's can quote the URL or a server reply that echoes the credentials, so every message
 * is scrubbed of the URL and the password (plain, URL-encoded and as the AUTH commands encode it),
 * and the original error is not kept as `cause`.
 */

const SYSTEM = 'smtp';

/** nodemailer codes of errors that no retry can fix when the server gave no reply code. */
const PERMANENT_CODES = new Set(['EAUTH', 'EENVELOPE', 'EMESSAGE', 'EPROTOCOL']);

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface MailResult {
  /** The server's reply code to the message (250), when it gave one. */
  responseCode: number | null;
  durationMs: number;
}

export interface MailClient {
  send(message: MailMessage): Promise<MailResult>;
}

export interface MailClientDeps {
  smtpUrl: string;
  from: string;
  timeoutMs: number;
}

export function createMailClient(deps: MailClientDeps): MailClient {
  const transport = nodemailer.createTransport({
    url: deps.smtpUrl,
    connectionTimeout: deps.timeoutMs,
    greetingTimeout: deps.timeoutMs,
    socketTimeout: deps.timeoutMs,
    dnsTimeout: deps.timeoutMs,
  });
  const redact = redactor(deps.smtpUrl);

  return {
    async send(message) {
      const started = performance.now();
      try {
        const info = await transport.sendMail({ from: deps.from, ...message });
        return {
          responseCode: replyCode(info.response) ?? null,
          durationMs: Math.round(performance.now() - started),
        };
      } catch (error) {
        throw toIntegrationError(error, redact);
      }
    },
  };
}

function toIntegrationError(
  error: unknown,
  redact: (text: string) => string,
): RetryableError | PermanentError {
  const { message, code, responseCode } = error as {
    message?: unknown;
    code?: unknown;
    responseCode?: unknown;
  };
  const text = `${SYSTEM}: ${redact(typeof message === 'string' ? message : String(error))}`;
  const init = {
    system: SYSTEM,
    status: typeof responseCode === 'number' ? responseCode : undefined,
    remoteCode: typeof code === 'string' ? code : undefined,
  };
  const permanent =
    init.status !== undefined
      ? init.status >= 500
      : init.remoteCode !== undefined && PERMANENT_CODES.has(init.remoteCode);
  return permanent ? new PermanentError(text, init) : new RetryableError(text, init);
}

function replyCode(response: string | undefined): number | undefined {
  const match = /^\d{3}/.exec(response ?? '');
  return match ? Number(match[0]) : undefined;
}

/** Replaces every form of the URL's credentials in a text; longest first, so the URL goes whole. */
export function redactor(smtpUrl: string): (text: string) => string {
  const secrets = new Set<string>([smtpUrl]);
  try {
    const url = new URL(smtpUrl);
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    if (pass !== '') {
      const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');
      for (const form of [pass, url.password, b64(pass), b64(`\u0000${user}\u0000${pass}`)])
        secrets.add(form);
    }
  } catch {
    // config.ts already rejected an unparsable URL; the whole string is still redacted.
  }
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => ordered.reduce((out, secret) => out.split(secret).join(REDACTED), text);
}
