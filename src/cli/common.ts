/** Helpers shared by the CLI commands: config loading with readable failures, and exit codes. */
import { type Config, ConfigError, loadConfig } from '../config/config.ts';
import { readEnvironment } from '../config/environment.ts';

/** A failure the CLI reports as one line (plus details) and exit code 1, without a stack. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
    this.name = 'CliError';
  }
}

/** Loads the config or throws a CliError listing every problem. */
export function configOrExit(overrides: Record<string, string | undefined> = {}): Config {
  try {
    return loadConfig({ ...readEnvironment(), ...overrides });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CliError(
        `configuration is invalid (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}):\n${err.problems
          .map((p) => `  ✗ ${p.variable}: ${p.message}`)
          .join('\n')}`,
      );
    }
    throw err;
  }
}

/** Parses a TCP port argument. */
export function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`invalid port "${v}": expected 0-65535`);
  return n;
}
