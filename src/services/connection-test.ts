import type { JasperClient } from '../clients/jasper.client.ts';
import type { RevioClient } from '../clients/revio.client.ts';
import type { ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Integration } from '../db/schema.ts';
import { DomainError, PermanentError, RetryableError } from '../errors.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';

/**
 * **Test connection** of an integration account: one harmless read through the real client, its
 * outcome told either way (a refusal or an outage is an answer, not an error).
 */

export interface ConnectionTest {
  ok: boolean;
  integration: Integration;
  /** What was tried, e.g. `GET /ServiceTypes`. */
  check: string;
  status: number | null;
  durationMs: number;
  message: string;
  /** The beginning of the remote answer (secrets redacted), when there was one. */
  remote: string | null;
}

export interface ProbeClients {
  accounts: IntegrationAccounts;
  revio: RevioClient;
  thingspace: ThingSpaceClient;
  jasper: JasperClient;
}

/** An ICCID no carrier has (valid check digit): the lookup proves reachability and credentials. */
const PROBE_ICCID = '89148000000000000000';

/** `onConnected` runs after a good probe (it must not throw). */
export async function testAccountConnection(
  clients: ProbeClients,
  integration: Integration,
  id: number,
  onConnected: () => Promise<unknown>,
): Promise<ConnectionTest> {
  const started = performance.now();
  try {
    const result = await probe(clients, integration, id);
    await onConnected();
    return {
      ok: true,
      integration,
      check: result.check,
      status: result.status ?? null,
      durationMs: Math.round(result.durationMs),
      message: result.summary,
      remote: result.remote?.slice(0, 500) ?? null,
    };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const integrationError =
      error instanceof PermanentError || error instanceof RetryableError ? error : undefined;
    return {
      ok: false,
      integration,
      check: integrationError?.exchange
        ? `${integrationError.exchange.method} ${new URL(integrationError.exchange.url).pathname}`
        : 'connect',
      status: integrationError?.status ?? null,
      durationMs: Math.round(integrationError?.exchange?.durationMs ?? performance.now() - started),
      message: error.message,
      remote: integrationError?.exchange?.responseBody?.slice(0, 500) ?? null,
    };
  }
}

async function probe(
  clients: ProbeClients,
  integration: Integration,
  id: number,
): Promise<{
  check: string;
  summary: string;
  status: number | undefined;
  durationMs: number;
  remote: string | undefined;
}> {
  switch (integration) {
    case 'revio': {
      const call = await clients.revio.listServiceTypes(await clients.accounts.revio(id));
      return {
        check: 'GET /ServiceTypes',
        summary: `signed in; ${call.value.length} service types`,
        status: call.exchange.status,
        durationMs: call.exchange.durationMs,
        remote: call.exchange.responseBody,
      };
    }
    case 'thingspace': {
      const call = await clients.thingspace.findDevice(await clients.accounts.thingspace(id), PROBE_ICCID);
      return {
        check: 'token, session, device lookup',
        summary: 'signed in (token and session); the account answers device lookups',
        status: call.exchange.status,
        durationMs: call.exchange.durationMs,
        remote: call.exchange.responseBody,
      };
    }
    case 'jasper': {
      try {
        const call = await clients.jasper.getDevice(await clients.accounts.jasper(id), PROBE_ICCID);
        return {
          check: `GET /devices/${PROBE_ICCID}`,
          summary: 'signed in; the account answers device lookups',
          status: call.exchange.status,
          durationMs: call.exchange.durationMs,
          remote: call.exchange.responseBody,
        };
      } catch (error) {
        // An unknown ICCID answers 404 only to a caller Control Center has authenticated.
        if (error instanceof PermanentError && error.status === 404) {
          return {
            check: `GET /devices/${PROBE_ICCID}`,
            summary:
              'signed in; the account answers device lookups (the probe ICCID is unknown, as expected)',
            status: 404,
            durationMs: error.exchange?.durationMs ?? 0,
            remote: error.exchange?.responseBody,
          };
        }
        throw error;
      }
    }
  }
}
