// New assignment, which devices: pasted identifiers, a file, or a selection handed over by the Fleet
// screen (identifiers in the URL or in sessionStorage, or a filter that stays a filter).
import { api } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';
import { formField } from '../lib/forms.js';
import { fileDrop, parseIdentifierFile } from '../widgets/file-drop.js';

/** Splits pasted identifiers: one per line, or separated by commas, semicolons or spaces. @param {string} text */
export const parseIdentifiers = (text) => text.split(/[\s,;]+/).filter(Boolean);

/** Malformed lines the summary quotes. */
const QUOTED = 5;

/** "status active, unassigned, prefix 8901": a device filter, read aloud. @param {Record<string, any>} f */
export function describeFilter(f) {
  const parts = [];
  if (f.status) parts.push(`status ${f.status}`);
  if (f.unassigned === true) parts.push('unassigned');
  if (f.unassigned === false) parts.push('assigned');
  if (f.customerId) parts.push(`customer #${f.customerId}`);
  if (f.siteId) parts.push(`site #${f.siteId}`);
  if (f.carrierRatePlan) parts.push(`carrier plan ${f.carrierRatePlan}`);
  if (f.q) parts.push(`identifier starting ${f.q}`);
  if (f.archived === 'include') parts.push('archived ones too');
  if (f.archived === 'only') parts.push('archived only');
  return parts.length ? parts.join(', ') : 'no filter';
}

/** The selection the Fleet screen handed over in the URL, if any. @param {URLSearchParams} params */
function handedOver(params) {
  if (params.get('selection') === 'session') {
    try {
      const stored = JSON.parse(sessionStorage.getItem('simbind.selection') ?? 'null');
      if (stored && Array.isArray(stored.devices))
        return { providerId: String(stored.providerId ?? ''), devices: stored.devices.map(String) };
    } catch {
      // A damaged selection is no selection.
    }
    return null;
  }
  const providerId = params.get('providerId') ?? '';
  const filter = params.get('filter');
  if (filter) {
    try {
      return { providerId, filter: /** @type {Record<string, any>} */ (JSON.parse(filter)) };
    } catch {
      return null;
    }
  }
  const devices = params.get('devices');
  return devices ? { providerId, devices: parseIdentifiers(devices) } : null;
}

/** @param {{ provider: HTMLSelectElement, errors: import('../lib/forms.js').FormErrors, onChange: () => void }} spec */
export function deviceSource({ provider, errors, onChange }) {
  const devices = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      id: 'devices',
      rows: 8,
      spellcheck: 'false',
      class: 'mono',
      placeholder: 'ICCIDs or MSISDNs: one per line, or separated by commas or spaces',
    })
  );
  const deviceCount = h('span', { 'data-testid': 'device-count', text: '0 identifiers' });
  const countPasted = () => {
    const ids = parseIdentifiers(devices.value);
    const unique = new Set(ids).size;
    deviceCount.textContent = `${fmtNum(ids.length)} identifier${ids.length === 1 ? '' : 's'}${unique < ids.length ? ` (${fmtNum(ids.length - unique)} repeated)` : ''}`;
  };
  devices.addEventListener('input', () => {
    countPasted();
    onChange();
  });

  /** @type {{ name: string, parsed: import('../widgets/file-drop.js').ParsedFile } | null} */
  let file = null;
  /** @type {{ filter: Record<string, any>, count: number | null } | null} */
  let filter = null;
  const fileSummary = h('div', { 'data-testid': 'file-summary', role: 'status' });
  const filterSummary = h('div', { 'data-testid': 'filter-summary', class: 'banner info', hidden: true });
  const pasted = formField(errors, 'devices', 'ICCIDs or MSISDNs', devices, deviceCount);

  const drop = fileDrop({
    id: 'devices-file',
    onFile: (name, text) => {
      file = { name, parsed: parseIdentifierFile(text) };
      drawFile();
      onChange();
    },
  });
  const drawFile = () => {
    pasted.hidden = file !== null;
    if (!file) return replace(fileSummary);
    const p = file.parsed;
    replace(
      fileSummary,
      h(
        'div',
        { class: `banner ${p.malformed.length ? 'warn' : 'ok'}` },
        h('strong', { text: `${file.name}: ` }),
        h('span', {
          'data-testid': 'file-counts',
          text: `${fmtNum(p.identifiers.length)} recognised, ${fmtNum(p.duplicates)} duplicate${p.duplicates === 1 ? '' : 's'}, ${fmtNum(p.malformed.length)} malformed`,
        }),
        h('div', { class: 'small', text: `Identifiers read from ${p.column}.` }),
        p.malformed.length > 0 &&
          h(
            'ul',
            { class: 'small mono malformed', 'aria-label': 'Malformed lines' },
            p.malformed
              .slice(0, QUOTED)
              .map((m) => h('li', { text: `line ${m.line}: ${m.text.slice(0, 80)}` })),
            p.malformed.length > QUOTED &&
              h('li', { text: `and ${fmtNum(p.malformed.length - QUOTED)} more` }),
          ),
        h('button', {
          type: 'button',
          text: 'Remove the file',
          onclick: () => {
            file = null;
            drop.clear();
            drawFile();
            onChange();
          },
        }),
      ),
    );
  };

  const drawFilter = async () => {
    if (!filter) return;
    const current = filter;
    replace(filterSummary, `All … devices matching: ${describeFilter(current.filter)}`);
    filterSummary.hidden = false;
    pasted.hidden = true;
    drop.zone.hidden = true;
    try {
      const q = new URLSearchParams({ serviceProviderId: provider.value });
      for (const [k, v] of Object.entries(current.filter)) q.set(k, String(v));
      current.count = (await api('GET', `/devices/count?${q}`)).count;
    } catch {
      current.count = null;
    }
    replace(
      filterSummary,
      h('strong', {
        text: `All ${current.count === null ? 'the' : fmtNum(current.count)} devices matching: ${describeFilter(current.filter)}`,
      }),
      ' ',
      h('button', {
        type: 'button',
        text: 'Clear the selection',
        onclick: () => {
          filter = null;
          filterSummary.hidden = true;
          pasted.hidden = drop.zone.hidden = false;
          onChange();
        },
      }),
    );
    onChange();
  };

  /** Takes the Fleet screen's selection from the URL; call once the provider select is filled. */
  const takeHandOver = () => {
    const given = handedOver(new URLSearchParams(location.search));
    if (!given) return;
    if (given.providerId) {
      provider.value = given.providerId;
      provider.dispatchEvent(new Event('change'));
    }
    if ('filter' in given && given.filter) {
      filter = { filter: given.filter, count: null };
      void drawFilter();
    } else if ('devices' in given && given.devices) {
      devices.value = given.devices.join('\n');
      countPasted();
      onChange();
    }
  };

  /** What the request selects: `devices` or `filter`. */
  const value = () =>
    filter
      ? { filter: filter.filter }
      : { devices: file ? file.parsed.identifiers : parseIdentifiers(devices.value) };
  /** How many devices, as far as the browser knows (null: a filter not counted yet). */
  const count = () => (filter ? filter.count : (value().devices?.length ?? 0));
  return { field: devices, pasted, drop: drop.zone, fileSummary, filterSummary, takeHandOver, value, count };
}
