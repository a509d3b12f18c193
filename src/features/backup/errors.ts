/**
 * Backup failures, each with a stable code. The CLI prints the message and exits 1; the scheduler
 * logs the code and tries again at the next slot. None of them is retried within one run.
 */

/** Base class: a backup, restore or verify that cannot go on, with a message an operator can act on. */
export class BackupError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackupError';
    this.code = code;
  }
}

/** A PostgreSQL client tool (pg_dump, pg_restore, psql) is not installed. */
export class ToolMissingError extends BackupError {
  constructor(tool: string) {
    super(
      'tool_missing',
      `${tool} was not found: install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client; ` +
        'Alpine: apk add postgresql-client; macOS: brew install libpq) with a major version at least that of the ' +
        'server, or set BACKUP_PG_BIN_DIR to the directory holding them',
    );
  }
}

/** The installed client tools are older than the server and cannot dump it. */
export class ToolVersionError extends BackupError {
  constructor(tool: string, toolMajor: number, serverMajor: number) {
    super(
      'tool_too_old',
      `${tool} ${toolMajor} cannot handle a PostgreSQL ${serverMajor} server: install postgresql-client-${serverMajor} ` +
        `(or newer) and put it on PATH or in BACKUP_PG_BIN_DIR`,
    );
  }
}

/** A dump or manifest does not match its checksum: corrupted or truncated. */
export class ChecksumError extends BackupError {
  constructor(message: string) {
    super('checksum_mismatch', message);
  }
}

/** The backup file cannot be read or restored (missing sidecar, unreadable archive, failed load). */
export class BackupUnreadableError extends BackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('backup_unreadable', message, options);
  }
}

/** The restored copy differs from the manifest. */
export class VerifyMismatchError extends BackupError {
  readonly differences: readonly string[];
  constructor(differences: readonly string[]) {
    super(
      'verify_mismatch',
      `the restored copy differs from the manifest:\n${differences.map((d) => `  ✗ ${d}`).join('\n')}`,
    );
    this.differences = differences;
  }
}

/** Restoring would overwrite data (or a running WADI) and --force was not given. */
export class RestoreRefusedError extends BackupError {
  constructor(message: string) {
    super('restore_refused', message);
  }
}

/** The embedded database is held by a running WADI, so this process cannot open it. */
export class DataDirBusyError extends BackupError {
  constructor(message: string) {
    super('data_dir_busy', message);
  }
}
