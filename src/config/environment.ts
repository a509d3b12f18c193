/**
 * The only place WADI reads process.env. Outside production a `.env` file in the working directory
 * is merged underneath the real environment; in production it is never loaded (and refused).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';

/** The environment WADI should configure itself from. */
export function readEnvironment(cwd = process.cwd()): Record<string, string | undefined> {
  const real = { ...process.env };
  if (real.NODE_ENV === 'production') return real;
  const file = path.join(cwd, '.env');
  if (!existsSync(file)) return real;
  return { ...parse(readFileSync(file)), ...real };
}
