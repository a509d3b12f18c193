/** The load generator's media mix: shares, platform-shaped media messages, signatures, captions. */
import { describe, expect, it } from 'vitest';
import { signWhatsapp } from '../../sandbox/payloads.ts';
import type { LoadMedia } from './media.ts';
import { loadScenario } from './scenarios.ts';
import { TrafficGenerator } from './traffic.ts';

const SECRETS = { whatsappAppSecret: 'app-secret', whatsappPhoneNumberId: '1555', telegramWebhookSecret: 'tg' };
const MEDIA: LoadMedia = {
  voiceShare: 0.2,
  imageShare: 0.1,
  voice: { id: '1111111111111111', sha256: 'a'.repeat(64), mimeType: 'audio/ogg; codecs=opus', size: 40_960 },
  image: { id: '2222222222222222', sha256: 'b'.repeat(64), mimeType: 'image/jpeg', size: 122_880 },
};

/** A seeded generator (mulberry32), so the counts are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('TrafficGenerator with media', () => {
  it('sends about the asked shares of chat messages as voice notes and photos, shaped and signed like the platforms', () => {
    const g = new TrafficGenerator(loadScenario('load'), SECRETS, 'run1', MEDIA);
    const random = seeded(42);
    const counts = { text: 0, voice: 0, image: 0 };
    for (let i = 0; i < 20_000; i++) {
      const r = g.next(random);
      if (r.kind !== 'whatsapp' && r.kind !== 'telegram') continue;
      const body = JSON.parse(r.body as string);
      if (r.kind === 'whatsapp') {
        expect(r.headers['x-hub-signature-256']).toBe(signWhatsapp(r.body as string, SECRETS.whatsappAppSecret));
        const m = body.entry[0].changes[0].value.messages[0];
        if (r.media === 'voice') {
          expect(m).toMatchObject({
            type: 'audio',
            audio: { id: MEDIA.voice.id, voice: true, sha256: MEDIA.voice.sha256 },
          });
        } else if (r.media === 'image') {
          expect(m).toMatchObject({ type: 'image', image: { id: MEDIA.image.id, caption: `hola ${r.n}` } });
        } else expect(m).toMatchObject({ type: 'text', text: { body: `hola ${r.n}` } });
      } else {
        const m = body.message;
        if (r.media === 'voice') expect(m.voice).toMatchObject({ file_id: MEDIA.voice.id, file_size: 40_960 });
        else if (r.media === 'image') {
          expect(m.photo[0].file_id).toBe(MEDIA.image.id);
          expect(m.caption).toBe(`hola ${r.n}`);
        } else expect(m.text).toBe(`hola ${r.n}`);
      }
      counts[r.media ?? 'text']++;
    }
    const chat = counts.text + counts.voice + counts.image;
    expect(counts.voice / chat).toBeGreaterThan(0.18);
    expect(counts.voice / chat).toBeLessThan(0.22);
    expect(counts.image / chat).toBeGreaterThan(0.08);
    expect(counts.image / chat).toBeLessThan(0.12);
    expect(g.mediaSent).toEqual({ voice: counts.voice, image: counts.image });
  });

  it('sends only texts without media', () => {
    const g = new TrafficGenerator(loadScenario('load'), SECRETS, 'run2');
    const random = seeded(7);
    for (let i = 0; i < 2000; i++) expect(g.next(random).media).toBeUndefined();
    expect(g.mediaSent).toEqual({ voice: 0, image: 0 });
  });
});
