/**
 * Locations and contact cards as text the model can use ("📍 40.4168, -3.7038 — Sol, Madrid";
 * "👤 Ana Pérez: +34 600 000 000"). Field values are user input: trimmed, cleaned of control
 * characters and bounded.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_FIELD = 200;
const MAX_CONTACTS = 20;

function field(v: unknown): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = String(v)
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .replace(/[\u0000-\u001F\u007F]+/g, ' ')
    .trim();
  return s ? s.slice(0, MAX_FIELD) : undefined;
}

/** "📍 lat, lon — name, address". */
export function describeLocation(loc: {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
}): string {
  const coords = `${round(loc.latitude)}, ${round(loc.longitude)}`;
  const label = [field(loc.name), field(loc.address)].filter(Boolean).join(', ');
  return `📍 ${coords}${label ? ` — ${label}` : ''}`;
}

function round(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

/** One line per contact: name, phone numbers, e-mails. Accepts WhatsApp and Telegram shapes. */
export function describeContacts(contacts: unknown): string | undefined {
  const list = (Array.isArray(contacts) ? contacts : [contacts]).filter(isObj).slice(0, MAX_CONTACTS);
  const lines: string[] = [];
  for (const c of list) {
    // WhatsApp: {name: {formatted_name, first_name…}, phones: [{phone, wa_id}], emails: [{email}]}
    // Telegram: {first_name, last_name, phone_number}
    const n = isObj(c.name) ? c.name : undefined;
    const name =
      field(n?.formatted_name) ??
      ([field(n?.first_name ?? c.first_name), field(n?.last_name ?? c.last_name)].filter(Boolean).join(' ') ||
        undefined);
    const phones = [
      ...(Array.isArray(c.phones) ? c.phones.filter(isObj).map((p) => field(p.phone) ?? field(p.wa_id)) : []),
      field(c.phone_number),
    ].filter((p): p is string => Boolean(p));
    const emails = Array.isArray(c.emails) ? c.emails.filter(isObj).map((e) => field(e.email)) : [];
    const details = [...phones, ...emails.filter((e): e is string => Boolean(e))].slice(0, 10);
    if (!name && details.length === 0) continue;
    lines.push(`👤 ${name ?? '?'}${details.length > 0 ? `: ${details.join(', ')}` : ''}`);
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}
