// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} references are the feature under test
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWadi } from '../../test/helpers/cli.ts';
import { ConfigError, loadConfig } from './config.ts';

const dir = () => mkdtempSync(path.join(tmpdir(), 'wadi-tools-'));
function load(file: unknown, env: Record<string, string> = {}) {
  const cwd = dir();
  writeFileSync(path.join(cwd, 'tools.json'), typeof file === 'string' ? file : JSON.stringify(file));
  return loadConfig(
    { NODE_ENV: 'test', ASSISTANT_TOOLS_FILE: 'tools.json', ...env },
    { cwd, persistGeneratedKey: false },
  );
}
function problem(file: unknown, env: Record<string, string> = {}): string {
  try {
    load(file, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      expect(err.problems).toHaveLength(1);
      return `${err.problems[0].variable}: ${err.problems[0].message}`;
    }
    throw err;
  }
  throw new Error('expected a problem');
}

describe('ASSISTANT_TOOLS_FILE', () => {
  it('reads stdio and HTTP servers in the MCP clients’ shape, resolving ${VAR} and ${VAR:-default}', () => {
    const cfg = load(
      {
        mcpServers: {
          orders: { command: 'node', args: ['server.js'], env: { API_KEY: '${ORDERS_KEY}', MODE: '${MODE:-live}' } },
          crm: {
            url: 'https://crm.example.com/mcp',
            headers: { Authorization: 'Bearer ${CRM_TOKEN}' },
            allowedTools: ['find'],
          },
          old: { command: 'x', disabled: true },
        },
      },
      { ORDERS_KEY: 'orders-secret-123', CRM_TOKEN: 'crm-token-456789' },
    );
    expect(cfg.tools?.servers).toEqual([
      expect.objectContaining({
        transport: 'stdio',
        name: 'orders',
        command: 'node',
        args: ['server.js'],
        env: { API_KEY: 'orders-secret-123', MODE: 'live' },
      }),
      expect.objectContaining({
        transport: 'http',
        name: 'crm',
        headers: { Authorization: 'Bearer crm-token-456789' },
        allowedTools: ['find'],
      }),
    ]);
    // Referenced values are secrets: scrubbed from logs.
    expect(cfg.secrets).toEqual(expect.arrayContaining(['orders-secret-123', 'crm-token-456789']));
  });

  it('refuses a malformed file with one line naming the problem', () => {
    expect(problem('{"mcpServers": {')).toMatch(/^ASSISTANT_TOOLS_FILE: .*tools\.json: not valid JSON/);
    expect(problem({ servers: {} })).toMatch(/tools\.json: mcpServers: must be an object of servers by name/);
    expect(problem({ mcpServers: { a: { args: [] } } })).toMatch(
      /tools\.json: mcpServers\.a: needs "command" \(stdio\) or "url" \(HTTP\)/,
    );
    // A typo is named, not only the key it hides.
    expect(problem({ mcpServers: { a: { comand: 'node', args: [] } } })).toMatch(
      /tools\.json: mcpServers\.a: needs "command" \(stdio\) or "url" \(HTTP\); unknown key "comand"$/,
    );
    expect(problem({ mcpServers: { bad__name: { command: 'x' } } })).toMatch(/server names are up to 32 letters/);
    expect(problem({ mcpServers: { a: { command: 'x', env: { K: '${MISSING_VAR}' } } } })).toMatch(
      /mcpServers\.a\.env\.K references \$\{MISSING_VAR\}, which is not set/,
    );
    expect(problem({ mcpServers: { a: { url: 'file:///etc/passwd' } } })).toMatch(/must be http:\/\/ or https:\/\//);
    expect(problem({ mcpServers: { a: { command: 'x', args: 'not-a-list' } } })).toMatch(/mcpServers\.a/);
  });

  it('names a file that does not exist', () => {
    try {
      loadConfig({ ASSISTANT_TOOLS_FILE: '/nonexistent/tools.json' }, { persistGeneratedKey: false });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems[0].message).toMatch(/\/nonexistent\/tools\.json: ENOENT/);
    }
  });

  it('wadi start refuses a malformed tools file before doing anything, with one line', async () => {
    const cwd = dir();
    writeFileSync(path.join(cwd, 'tools.json'), '{"mcpServers": {"x": {"command": 42}}}');
    const r = await runWadi(['start'], {
      cwd,
      env: { ASSISTANT_TOOLS_FILE: 'tools.json', PORT: '0' },
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => l.includes('ASSISTANT_TOOLS_FILE'))).toHaveLength(1);
    expect(r.stderr).toMatch(/ASSISTANT_TOOLS_FILE: .*tools\.json: mcpServers\.x/);
  });
});
