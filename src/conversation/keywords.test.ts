import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HANDOFF_KEYWORDS, DEFAULT_OPT_IN_KEYWORDS, DEFAULT_OPT_OUT_KEYWORDS } from '../config/schema.ts';
import {
  containsKeyword,
  isKeyword,
  keywordIntent,
  keywordList,
  keywordSets,
  keywordToName,
  normalizeWords,
} from './keywords.ts';
import { texts } from './texts.ts';

const sets = keywordSets({
  handoff: DEFAULT_HANDOFF_KEYWORDS,
  optOut: DEFAULT_OPT_OUT_KEYWORDS,
  optIn: DEFAULT_OPT_IN_KEYWORDS,
});

describe('keywords', () => {
  it('normalises case, accents and punctuation', () => {
    expect(normalizeWords('¡Quiero hablar con un AGENTE, por favor!')).toBe('quiero hablar con un agente por favor');
    expect(normalizeWords('Asesór...')).toBe('asesor');
    expect(normalizeWords('  ')).toBe('');
  });

  it('asks for a person on a handoff word anywhere, as a whole word', () => {
    expect(keywordIntent('Quiero hablar con un agente', sets)).toBe('handoff');
    expect(keywordIntent('¿Me pasas con un HUMANO?', sets)).toBe('handoff');
    expect(keywordIntent('I want a real person', sets)).toBe('handoff');
    expect(keywordIntent('Necesito hablar con una persona', sets)).toBe('handoff');
    // "agentes" and "humanos" are other words; "agency" is not "agent".
    expect(keywordIntent('los derechos humanos', sets)).toBeUndefined();
    expect(keywordIntent('my travel agency', sets)).toBeUndefined();
  });

  it('opts out and in only on the whole message', () => {
    expect(keywordIntent('STOP', sets)).toBe('opt_out');
    expect(keywordIntent('baja.', sets)).toBe('opt_out');
    expect(keywordIntent('Darme de baja', sets)).toBe('opt_out');
    expect(keywordIntent('ALTA', sets)).toBe('opt_in');
    expect(keywordIntent('start', sets)).toBe('opt_in');
    expect(keywordIntent('stop sending me the menu', sets)).toBeUndefined();
    expect(keywordIntent('la fiebre es alta', sets)).toBeUndefined();
    // Commands stay commands.
    expect(keywordIntent('/start', sets)).toBe('opt_in');
  });

  it('is configurable and ignores empty entries', () => {
    const list = keywordList(['  Soporte ', '', 'SOPORTE', 'ayuda humana']);
    expect(list).toEqual(['soporte', 'ayuda humana']);
    expect(containsKeyword('necesito soporte ya', list)).toBe(true);
    expect(containsKeyword('necesito ayuda humana', list)).toBe(true);
    expect(containsKeyword('anything', [])).toBe(false);
    expect(isKeyword('stop', [])).toBe(false);
  });

  it('never throws on hostile text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), (s) => {
        const r = keywordIntent(`${s}\u0000\ud800`, sets);
        expect(r === undefined || ['handoff', 'opt_out', 'opt_in'].includes(r)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the opt-out and opt-in notices name a keyword the deployment accepts', () => {
  const notices = (optOut: string[], optIn: string[], locale: 'es' | 'en') => {
    const k = keywordSets({ handoff: [], optOut, optIn });
    const t = texts(locale);
    return {
      out: t.optedOut(keywordToName(k.optIn, t.keywordNames.optIn)),
      in: t.optedIn(keywordToName(k.optOut, t.keywordNames.optOut)),
    };
  };

  it('the defaults: ALTA/BAJA in Spanish, START/STOP in English', () => {
    const es = notices(DEFAULT_OPT_OUT_KEYWORDS, DEFAULT_OPT_IN_KEYWORDS, 'es');
    expect(es.out).toContain('Envía ALTA para volver');
    expect(es.in).toContain('Envía BAJA cuando');
    const en = notices(DEFAULT_OPT_OUT_KEYWORDS, DEFAULT_OPT_IN_KEYWORDS, 'en');
    expect(en.out).toContain('Send START to receive');
    expect(en.in).toContain('Send STOP whenever');
  });

  it('configured words replace them, and an empty list names none', () => {
    const custom = notices(['Cancelar avisos'], ['Reanudar'], 'es');
    expect(custom.out).toContain('Envía REANUDAR para volver');
    expect(custom.out).not.toContain('ALTA');
    expect(custom.in).toContain('Envía CANCELAR AVISOS cuando');
    const none = notices(['baja'], [], 'es');
    expect(none.out).not.toMatch(/Envía/);
    expect(none.out).toMatch(/^Listo, no te enviaremos/);
  });
});
