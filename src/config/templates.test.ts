import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTemplatesFile, purposeOfKind, templateFor, templateParameter } from './templates.ts';

function file(content: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'wadi-templates-'));
  const f = path.join(dir, 'templates.json');
  writeFileSync(f, content);
  return f;
}

describe('WHATSAPP_TEMPLATES_FILE', () => {
  it('maps replies, notices and operator messages to filled-in templates', () => {
    const book = loadTemplatesFile(
      file(
        JSON.stringify({
          reply: { name: 'wadi_reply_ready', language: 'es', parameters: ['{{name}}'] },
          operator: {
            name: 'wadi_agent_followup',
            language: 'es',
            languages: { en: 'en_US' },
            parameters: ['{{ name }}', '{{text}}'],
          },
        }),
      ),
    );
    expect(templateFor(book, 'reply', { text: 'x', name: 'Ana', locale: 'es' })).toEqual({
      name: 'wadi_reply_ready',
      language: 'es',
      parameters: ['Ana'],
    });
    expect(templateFor(book, 'operator', { text: 'Hola\n\nya está listo', name: null, locale: 'en' })).toEqual({
      name: 'wadi_agent_followup',
      language: 'en_US',
      parameters: ['-', 'Hola ya está listo'],
    });
    expect(templateFor(book, 'notice', { text: 'x', locale: 'es' })).toBeUndefined();
    expect(templateFor(undefined, 'reply', { text: 'x', locale: 'es' })).toBeUndefined();
  });

  it('says what is wrong with a bad file', () => {
    expect(() => loadTemplatesFile(file('{not json'))).toThrow(/cannot read .* as JSON/);
    expect(() => loadTemplatesFile(file(JSON.stringify({ reply: { name: 'Bad Name', language: 'es' } })))).toThrow(
      /reply\.name: must be an approved template name/,
    );
    expect(() => loadTemplatesFile(file(JSON.stringify({ reply: { name: 'ok', language: 'spanish' } })))).toThrow(
      /reply\.language/,
    );
    expect(() => loadTemplatesFile(file(JSON.stringify({ greeting: { name: 'ok', language: 'es' } })))).toThrow(
      /greeting|Unrecognized/,
    );
    expect(() => loadTemplatesFile(path.join(tmpdir(), 'no-such-dir', 'x.json'))).toThrow(/cannot read/);
  });

  it('keeps parameters within what Meta accepts', () => {
    expect(templateParameter('a\tb\r\nc      d')).toBe('a b c   d');
    expect(templateParameter('   ')).toBe('-');
    const long = templateParameter('😀'.repeat(2000));
    expect(Array.from(long)).toHaveLength(1024);
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(long)).toBe(false);
  });

  it('knows which purpose an outbox row serves', () => {
    expect(purposeOfKind('operator')).toBe('operator');
    expect(purposeOfKind('notice')).toBe('notice');
    expect(purposeOfKind('text')).toBe('reply');
  });
});
