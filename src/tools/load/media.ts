/**
 * Media for `wadi load --voice SHARE --image SHARE` (sandbox targets): one voice note and one photo
 * of typical WhatsApp sizes are uploaded to the target's sandbox media store once, and the traffic
 * generator sends that share of its chat messages as media messages by their ids. Every message is
 * still downloaded (the fake Graph API's two-step flow, the fake Bot API's getFile) and transcribed
 * or shown to the (fake) vision model by the worker on its own, as in production.
 */
import { randomBytes } from 'node:crypto';

/** One uploaded file. */
export interface LoadMediaFile {
  readonly id: string;
  readonly sha256: string;
  readonly mimeType: string;
  readonly size: number;
}

/** The files and the shares of chat messages sent as each. */
export interface LoadMedia {
  readonly voiceShare: number;
  readonly imageShare: number;
  readonly voice: LoadMediaFile;
  readonly image: LoadMediaFile;
}

/** A 10-second Opus voice note at WhatsApp's ~32 kbit/s. */
export const LOAD_VOICE_BYTES = 40 * 1024;
/** A photo as WhatsApp compresses it for sending. */
export const LOAD_IMAGE_BYTES = 120 * 1024;

/** Bytes that start like the real format (the fake transcriber answers a fixed text for binary audio). */
function fileBytes(magic: number[], size: number): Buffer {
  const b = randomBytes(size);
  Buffer.from(magic).copy(b, 0);
  return b;
}

async function upload(url: string, bytes: Buffer, mimeType: string, fileName: string): Promise<LoadMediaFile> {
  const q = new URLSearchParams({ mime_type: mimeType, filename: fileName });
  const res = await fetch(`${url}/sandbox/media?${q}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status === 404) throw new Error(`${url} has no /sandbox/media: media load needs a sandbox target`);
  if (res.status !== 201) throw new Error(`the sandbox refused the ${fileName} upload: HTTP ${res.status}`);
  const j = (await res.json()) as { id: string; sha256: string };
  return { id: j.id, sha256: j.sha256, mimeType, size: bytes.length };
}

/** Uploads the voice note and the photo to `url`'s sandbox. */
export async function uploadLoadMedia(url: string, voiceShare: number, imageShare: number): Promise<LoadMedia> {
  // "OggS" and a JPEG SOI/APP0 marker: what a real file starts with.
  const voice = await upload(
    url,
    fileBytes([0x4f, 0x67, 0x67, 0x53, 0x00, 0x02], LOAD_VOICE_BYTES),
    'audio/ogg; codecs=opus',
    'load.ogg',
  );
  const image = await upload(url, fileBytes([0xff, 0xd8, 0xff, 0xe0], LOAD_IMAGE_BYTES), 'image/jpeg', 'load.jpg');
  return { voiceShare, imageShare, voice, image };
}
