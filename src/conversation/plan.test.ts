import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '../channels/types.ts';
import type { ClaimedMessage } from '../inbox/claim.ts';
import { keywordSets } from './keywords.ts';
import { planTurn } from './plan.ts';
import { resolveLocale } from './texts.ts';

let id = 0;
const m = (kind: string, text?: string, command?: string): ClaimedMessage => ({
  id: ++id,
  kind,
  attempts: 1,
  receivedAt: new Date(),
  traceContext: null,
  inHistory: false,
  event: { kind, text, command: command ? { name: command, args: '' } : undefined } as unknown as InboundEvent,
});

describe('turn plan', () => {
  it('groups consecutive texts into one request and keeps commands and media in arrival order', () => {
    const steps = planTurn([
      m('text', 'a'),
      m('text', 'b'),
      m('command', '/reset', 'reset'),
      m('text', 'c'),
      m('image'),
      m('text', '/HELP@wadi_bot'),
      m('text', '/unknown'),
    ]);
    expect(
      steps.map((s) =>
        s.type === 'ask'
          ? `ask:${s.messages.length}`
          : s.type === 'command'
            ? s.name
            : s.type === 'unsupported'
              ? s.kind
              : s.type,
      ),
    ).toEqual(['ask:2', 'reset', 'ask:1', 'image', 'help', 'help']);
  });

  it('asks for a person on /human and on handoff words, and opts out and in on whole-message keywords', () => {
    const sets = keywordSets({ handoff: ['agente', 'humano'], optOut: ['baja', 'stop'], optIn: ['alta'] });
    const steps = planTurn(
      [
        m('text', 'hola'),
        m('command', '/human', 'human'),
        m('text', '/human@wadi_bot'),
        m('text', 'Quiero hablar con un AGENTE'),
        m('text', 'BAJA'),
        m('text', 'alta.'),
        m('text', 'la fiebre es alta'),
      ],
      new Map(),
      sets,
    );
    expect(
      steps.map((s) =>
        s.type === 'handoff' ? `handoff:${s.trigger}` : s.type === 'ask' ? `ask:${s.messages.length}` : s.type,
      ),
    ).toEqual(['ask:1', 'handoff:command', 'handoff:command', 'handoff:keyword', 'opt_out', 'opt_in', 'ask:1']);
    // Without keyword sets only /human asks for a person.
    expect(planTurn([m('text', 'agente'), m('text', '/human')]).map((s) => s.type)).toEqual(['ask', 'handoff']);
  });

  it('picks the locale from the platform hint, else the default', () => {
    expect(resolveLocale('en-US', 'es')).toBe('en');
    expect(resolveLocale('es-MX', 'en')).toBe('es');
    expect(resolveLocale('pt-BR', 'es')).toBe('es');
    expect(resolveLocale(null, 'en')).toBe('en');
  });
});
