/**
 * Tools as a WADI feature: on processes that answer messages (roles all and worker) the toolbox of
 * `search_knowledge` (when KNOWLEDGE_DIR is set), `handoff` (ASSISTANT_HANDOFF_TOOL, by default
 * with the others) and the MCP servers of ASSISTANT_TOOLS_FILE, which
 * this process connects at start (stdio servers are its children) and stops within the shutdown
 * grace. Readiness warns while a server is down. Web-only processes run no tools.
 */
import { createRequire } from 'node:module';
import type { WadiModule } from '../kernel/module.ts';
import type { BackgroundService } from '../kernel/service.ts';
import { searchLanguage } from '../knowledge/language.ts';
import type { ModuleContext } from '../platform/context.ts';
import type { ToolAnswerDeps } from './answer.ts';
import { handoffTool } from './handoff.ts';
import { McpConnection } from './mcp-connection.ts';
import { searchKnowledgeTool } from './search-knowledge.ts';
import { Toolbox } from './toolbox.ts';
import type { Tool } from './types.ts';

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
/** How long start-up waits for the MCP servers before serving with the tools that are up. */
const START_WAIT_MS = 5000;

/** Builds the toolbox; `tools` is what the conversation engine needs (undefined: nothing configured). */
export function toolsModule(ctx: ModuleContext): { module: WadiModule; tools?: ToolAnswerDeps; toolbox?: Toolbox } {
  const env = ctx.config.env;
  const servers = ctx.config.tools?.servers ?? [];
  const others = Boolean(env.KNOWLEDGE_DIR) || servers.length > 0;
  const handoff = env.ASSISTANT_HANDOFF_TOOL ?? others;
  if (ctx.role === 'web' || (!others && !handoff)) return { module: { name: 'tools' } };
  const logger = ctx.logger.child({ component: 'tools' });
  const builtins: Tool[] = [];
  if (env.KNOWLEDGE_DIR) builtins.push(searchKnowledgeTool(ctx.database, searchLanguage(env.ASSISTANT_LOCALE)));
  if (handoff) builtins.push(handoffTool());
  const toolbox = new Toolbox({
    builtins,
    connections: servers.map(
      (server) => new McpConnection({ server, logger, callTimeoutMs: env.ASSISTANT_TOOL_TIMEOUT_MS, version: VERSION }),
    ),
    logger,
  });
  const graceMs = Math.max(env.SHUTDOWN_GRACE_MS - 2000, 500);
  const service: BackgroundService = {
    name: 'mcp-servers',
    async start() {
      await Promise.race([toolbox.start(), new Promise((r) => setTimeout(r, START_WAIT_MS).unref())]);
    },
    stop: () => toolbox.stop(graceMs),
  };
  return {
    module: {
      name: 'tools',
      services: servers.length > 0 ? [service] : [],
      checks: servers.length > 0 ? [toolbox.healthCheck()] : [],
    },
    tools: { db: ctx.database, toolbox, maxSteps: env.ASSISTANT_TOOL_MAX_STEPS, logger },
    toolbox,
  };
}
