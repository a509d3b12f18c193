/**
 * The media side of `wadi simulate whatsapp|telegram [TEXT] --voice FILE | --image FILE |
 * --document FILE`: reads the file, uploads it to the running sandbox's media store and answers
 * the id the fake Graph API and Bot API serve it under (TEXT becomes the caption).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { SimulatedMedia } from '../sandbox/payloads.ts';
import { CliError } from './common.ts';

/** The media options of a simulate command. */
export interface MediaFlags {
  readonly voice?: string;
  readonly image?: string;
  readonly document?: string;
}

/** A file uploaded to the sandbox. */
export interface UploadedMedia {
  readonly media: SimulatedMedia;
  readonly id: string;
  readonly sha256: string;
  readonly size: number;
  readonly mimeType: string;
  readonly fileName: string;
}

const TYPES: Record<string, string> = {
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.amr': 'audio/amr',
  '.wav': 'audio/wav',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.pdf': 'application/pdf',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
};

/** Which media flag was given (at most one), or undefined. */
export function chosenMedia(flags: MediaFlags): { media: SimulatedMedia; file: string } | undefined {
  const given = (['voice', 'image', 'document'] as const).filter((k) => flags[k] !== undefined);
  if (given.length > 1) throw new CliError('give at most one of --voice, --image, --document');
  const media = given[0];
  return media ? { media, file: flags[media] as string } : undefined;
}

/** Uploads the file to `base`'s sandbox media store. */
export async function uploadSimulatedMedia(base: string, media: SimulatedMedia, file: string): Promise<UploadedMedia> {
  let bytes: Buffer;
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    bytes = readFileSync(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (bytes.length === 0) throw new CliError(`${file} is empty`);
  const fileName = path.basename(file);
  const ext = path.extname(file).toLowerCase();
  const fallback = media === 'voice' ? 'audio/ogg' : media === 'image' ? 'image/jpeg' : 'application/octet-stream';
  const mimeType = TYPES[ext] ?? fallback;
  const q = new URLSearchParams({ mime_type: mimeType, filename: fileName });
  let res: Response;
  try {
    res = await fetch(`${base}/sandbox/media?${q}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${base}: ${(err as Error).message}`);
  }
  if (res.status === 404)
    throw new CliError(`${base} has no /sandbox/media: media can only be simulated in sandbox mode`);
  if (res.status !== 201) throw new CliError(`the sandbox refused the file: HTTP ${res.status} ${await res.text()}`);
  const j = (await res.json()) as { id: string; sha256: string };
  return { media, id: j.id, sha256: j.sha256, size: bytes.length, mimeType, fileName };
}
