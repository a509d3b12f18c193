/** `wadi load --voice/--image`: bad shares are refused before anything is sent. */
import { describe, expect, it } from 'vitest';
import { runWadi } from '../helpers/cli.ts';

describe('wadi load media shares', () => {
  it.each([
    [['--voice', '1.5'], /invalid --voice "1.5": expected a share between 0 and 1/],
    [['--image', '-0.1'], /invalid --image "-0.1"/],
    [['--voice', 'mucho'], /invalid --voice "mucho"/],
    [['--voice', '0.7', '--image', '0.5'], /--voice and --image together must not exceed 1/],
  ])('%j is refused with a clear message', async (flags, message) => {
    // Port 9 (discard): nothing must be contacted, the flags are checked first.
    const r = await runWadi(['load', 'smoke', '--url', 'http://127.0.0.1:9', ...flags]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/nothing answers/);
  });
});
