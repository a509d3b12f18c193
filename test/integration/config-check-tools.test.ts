/**
 * `wadi config check` and the tools: the MCP servers of ASSISTANT_TOOLS_FILE (name, transport,
 * command or URL, env/header names with their values hidden, allowlist), the knowledge folder and
 * the handoff tool; a malformed tools file is one line naming the file and the problem, exit 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWadi, tempDir } from '../helpers/cli.ts';

const SHOP_KEY = 'shop-key-7f3a9c1e5b2d4680';
const CRM_TOKEN = 'crm-token-0d9e8f7a6b5c4321';
const URL_PASSWORD = 'url-password-5566778899';
const LITERAL_HEADER = 'literal-header-value-13579';

/** A `${NAME}` reference of the tools file. */
const ref = (name: string) => `\${${name}}`;

function toolsFile(dir: string, content: unknown): string {
  const file = path.join(dir, 'tools.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('wadi config check with tools', () => {
  it('lists the MCP servers, the knowledge folder and the handoff tool, with env and header values hidden', async () => {
    const dir = tempDir('wadi-config-tools-');
    mkdirSync(path.join(dir, 'faq'));
    toolsFile(dir, {
      mcpServers: {
        shop: {
          command: 'node',
          args: ['/srv/shop mcp/server.js', '--verbose'],
          env: { SHOP_API_KEY: ref('SHOP_KEY'), SHOP_REGION: 'eu-west-1' },
          allowedTools: ['get_order', 'book_table'],
          timeoutMs: 5000,
        },
        crm: {
          url: `https://bot:${URL_PASSWORD}@crm.example.com/mcp?token=${ref('CRM_TOKEN')}`,
          headers: { Authorization: `Bearer ${ref('CRM_TOKEN')}`, 'X-Static': LITERAL_HEADER },
        },
        old: { command: 'never-started', disabled: true },
      },
    });
    const env = { ASSISTANT_TOOLS_FILE: 'tools.json', KNOWLEDGE_DIR: 'faq', SHOP_KEY, CRM_TOKEN };
    const r = await runWadi(['config', 'check'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`knowledge  ${path.join(dir, 'faq')}\n`);
    expect(out).toContain('handoff    the model may call handoff');
    expect(out).toContain(`tools      2 MCP servers from ${path.join(dir, 'tools.json')}`);
    expect(out).toContain('    shop (stdio): node "/srv/shop mcp/server.js" --verbose\n');
    expect(out).toContain('      env: SHOP_API_KEY=[redacted], SHOP_REGION=[redacted]\n');
    expect(out).toContain('      tools: get_order, book_table; timeout 5000 ms\n');
    expect(out).toContain('    crm (http): https://bot:***@crm.example.com/mcp?token=[redacted]\n');
    expect(out).toContain('      headers: Authorization=[redacted], X-Static=[redacted]\n');
    expect(out).toContain('      tools: all the server lists\n');
    expect(out).not.toContain('never-started');
    for (const secret of [SHOP_KEY, CRM_TOKEN, URL_PASSWORD, LITERAL_HEADER, 'eu-west-1']) {
      expect(out).not.toContain(secret);
      expect(r.stderr).not.toContain(secret);
    }

    const json = await runWadi(['config', 'check', '--json'], { env, cwd: dir });
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { tools: { servers: { name: string; allowedTools: unknown }[] } };
    expect(parsed.tools.servers.map((s) => [s.name, s.allowedTools])).toEqual([
      ['shop', ['get_order', 'book_table']],
      ['crm', 'all'],
    ]);
    for (const secret of [SHOP_KEY, CRM_TOKEN, URL_PASSWORD, LITERAL_HEADER]) expect(json.stdout).not.toContain(secret);
  }, 60_000);

  it('says when nothing is configured and when the knowledge folder does not exist', async () => {
    const none = await runWadi(['config', 'check']);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('knowledge  off (KNOWLEDGE_DIR unset)');
    expect(none.stdout).toContain('tools      no MCP servers (ASSISTANT_TOOLS_FILE unset)');
    expect(none.stdout).toContain('handoff    no handoff tool');
    const dir = tempDir('wadi-config-tools-');
    const missing = await runWadi(['config', 'check'], { env: { KNOWLEDGE_DIR: 'docs' }, cwd: dir });
    expect(missing.stdout).toContain(`knowledge  ${path.join(dir, 'docs')} (not found: nothing to search yet)`);
  }, 60_000);

  it.each([
    ['not JSON', '{"mcpServers": {', /tools\.json: not valid JSON/],
    [
      'a server with neither command nor url',
      { mcpServers: { shop: { args: ['x'] } } },
      /mcpServers\.shop: needs "command" \(stdio\) or "url" \(HTTP\)/,
    ],
    ['an unknown key', { mcpServers: { shop: { command: 'node', enviroment: {} } } }, /mcpServers\.shop/],
    [
      'an unset variable',
      { mcpServers: { crm: { url: 'https://x.example/mcp', headers: { a: ref('NOPE_UNSET') } } } },
      /mcpServers\.crm\.headers\.a references \$\{NOPE_UNSET\}, which is not set/,
    ],
    [
      'a non-http URL',
      { mcpServers: { crm: { url: 'file:///etc/passwd' } } },
      /mcpServers\.crm\.url must be http:\/\/ or https:\/\//,
    ],
  ])(
    'refuses a tools file with %s: one line, exit 1',
    async (_what, content, problem) => {
      const dir = tempDir('wadi-config-tools-');
      const file = toolsFile(dir, content);
      const r = await runWadi(['config', 'check'], { env: { ASSISTANT_TOOLS_FILE: file }, cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stdout).not.toContain('configuration is valid');
      const lines = r.stderr.split('\n').filter((l) => l.includes('ASSISTANT_TOOLS_FILE'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`✗ ASSISTANT_TOOLS_FILE: ${file}`);
      expect(lines[0]).toMatch(problem);
      expect(r.stderr).not.toContain('    at ');
    },
    60_000,
  );
});
