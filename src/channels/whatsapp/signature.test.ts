import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { metaStringify } from './meta-json.ts';
import { signBody, verifySignature } from './signature.ts';

describe('Meta signature and escaped-unicode serialisation', () => {
  it('escapes non-ASCII as lowercase \\uXXXX and emoji as surrogate pairs, and parses back unchanged', () => {
    expect(metaStringify({ t: 'ñ€😀' })).toBe('{"t":"\\u00f1\\u20ac\\ud83d\\ude00"}');
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const s = metaStringify(v);
        expect(/^[\x00-\x7e]*$/.test(s)).toBe(true);
        expect(JSON.parse(s)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it('verifies any body and rejects any single flipped byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), (bytes, at) => {
        const body = Buffer.from(bytes);
        const header = signBody(body, 'secret');
        expect(verifySignature(body, header, 'secret')).toBe(true);
        expect(verifySignature(body, header.toUpperCase().replace('SHA256=', 'sha256='), 'secret')).toBe(true);
        const tampered = Buffer.from(body);
        tampered[at % tampered.length] ^= 1;
        expect(verifySignature(tampered, header, 'secret')).toBe(false);
      }),
    );
  });

  it('rejects missing, repeated, malformed and wrong-prefix headers', () => {
    const body = Buffer.from('{}');
    const good = signBody(body, 's');
    expect(verifySignature(body, undefined, 's')).toBe(false);
    expect(verifySignature(body, [good, good], 's')).toBe(false);
    expect(verifySignature(body, good.replace('sha256', 'sha1'), 's')).toBe(false);
    expect(verifySignature(body, `${good}00`, 's')).toBe(false);
    expect(verifySignature(body, 'sha256=zz', 's')).toBe(false);
    expect(verifySignature(body, good, 'other')).toBe(false);
  });
});
