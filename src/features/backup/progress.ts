/** Progress of long dumps and restores: bytes moved and time spent, reported as they change. */

/** One progress report. */
export interface ProgressEvent {
  readonly phase: 'dump' | 'checksum' | 'restore' | 'count';
  readonly bytes: number;
  readonly totalBytes?: number;
  readonly elapsedMs: number;
}

/** Receives progress reports (the CLI prints them to stderr; the scheduler logs them at debug). */
export type ProgressFn = (e: ProgressEvent) => void;

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** "restore: 12.0 MiB of 40.0 MiB (30%), 4.2 s". */
export function formatProgress(e: ProgressEvent): string {
  const verb = e.phase === 'dump' ? 'written' : e.phase === 'restore' ? 'applied' : 'read';
  const total =
    e.totalBytes && e.totalBytes > 0
      ? ` of ${formatBytes(e.totalBytes)} (${Math.min(100, Math.round((100 * e.bytes) / e.totalBytes))}%)`
      : '';
  return `${e.phase}: ${formatBytes(e.bytes)}${total} ${verb}, ${(e.elapsedMs / 1000).toFixed(1)} s`;
}
