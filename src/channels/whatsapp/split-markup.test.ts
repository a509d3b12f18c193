import { describe, expect, it } from 'vitest';
import { splitForWhatsApp } from './split-markup.ts';

describe('splitting for WhatsApp', () => {
  it('closes a ``` block cut in two and reopens it, keeping the indentation of the code', () => {
    const code = Array.from({ length: 130 }, (_, i) => `    value_${i} = compute(${i})  # indented line`).join('\n');
    const text = `Here:\n\n\`\`\`\n${code}\n\`\`\`\n\nThat is all.`;
    const parts = splitForWhatsApp(text);
    expect(parts.length).toBe(2);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect((p.match(/```/g) ?? []).length).toBe(2);
    }
    const lines = parts.map((p) => /```\n([\s\S]*?)\n```/.exec(p)?.[1]).join('\n');
    expect(lines).toBe(code);
    expect(parts[1].endsWith('That is all.')).toBe(true);
  });

  it('leaves prose and short texts as the plain splitter does', () => {
    expect(splitForWhatsApp('hola *mundo*')).toEqual(['hola *mundo*']);
    const prose = 'Una frase. '.repeat(600);
    expect(splitForWhatsApp(prose).every((p) => p.length <= 4096 && !p.includes('```'))).toBe(true);
  });
});
