/**
 * The tools a turn may offer the model: the built-ins and the tools of every MCP server that is up
 * right now. `call` never throws for a tool's failure: unknown tools, errors, timeouts and servers
 * that are down all come back as a result the model can read (the conversation goes on). Records
 * `wadi_tool_calls_total` and `wadi_tool_duration_seconds`.
 */
import type { Logger } from 'pino';
import type { HealthCheck } from '../kernel/health.ts';
import type { McpConnection } from './mcp-connection.ts';
import { toolMetrics } from './metrics.ts';
import type { Tool, ToolCallContext, ToolDefinition, ToolResult } from './types.ts';

/** Built-ins and MCP servers behind one interface. */
export class Toolbox {
  private readonly builtins: readonly Tool[];
  readonly connections: readonly McpConnection[];
  private readonly log: Logger;

  constructor(opts: { builtins: readonly Tool[]; connections: readonly McpConnection[]; logger: Logger }) {
    this.builtins = opts.builtins;
    this.connections = opts.connections;
    this.log = opts.logger;
  }

  /** Tools to offer now (MCP tools only while their server is up). */
  definitions(): ToolDefinition[] {
    return this.available().map((t) => t.definition);
  }

  private available(): Tool[] {
    return [...this.builtins, ...this.connections.flatMap((c) => c.offered())];
  }

  /** True for a built-in or a tool of a configured server (up or not): a bounded metric label. */
  knows(name: string): boolean {
    return this.builtins.some((t) => t.definition.name === name) || this.connections.some((c) => c.hasOffered(name));
  }

  /** True when there is anything to offer. */
  get empty(): boolean {
    return this.available().length === 0;
  }

  /** Calls `name`; failures become results. Aborts (shutdown) propagate. */
  async call(name: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult> {
    const tool = this.available().find((t) => t.definition.name === name);
    if (!tool) {
      const configured = this.connections.some((c) => name.startsWith(`${c.name}__`));
      const outcome = configured ? 'unavailable' : 'error';
      toolMetrics.calls.inc({ tool: this.knows(name) ? name : 'unknown', outcome });
      return {
        outcome,
        content: JSON.stringify({
          error: configured ? `the tool ${name} is not available right now` : `there is no tool named ${name}`,
        }),
      };
    }
    const started = performance.now();
    let result: ToolResult;
    try {
      result = await tool.call(args, ctx);
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      this.log.warn({ tool: name, err: (err as Error).message }, 'tool call failed');
      result = { outcome: 'error', content: JSON.stringify({ error: 'the tool failed' }) };
    }
    toolMetrics.duration.observe({ tool: name }, (performance.now() - started) / 1000);
    toolMetrics.calls.inc({ tool: name, outcome: result.outcome });
    return result;
  }

  /** Connects every MCP server (in parallel; a server that is down does not stop the others). */
  async start(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.start()));
  }

  /** Stops every server within `graceMs` (stdio children are then left to the SDK's SIGKILL). */
  async stop(graceMs: number): Promise<void> {
    await Promise.race([
      Promise.allSettled(this.connections.map((c) => c.stop())),
      new Promise((r) => setTimeout(r, graceMs).unref()),
    ]);
  }

  /** Readiness: warns (never fails) while a configured server is down. */
  healthCheck(): HealthCheck {
    return {
      name: 'tools',
      componentType: 'component',
      run: () => {
        const down = this.connections.filter((c) => c.state !== 'up');
        if (down.length > 0) {
          return {
            status: 'warn',
            // Names and states only: readiness is public, the reasons are in the log.
            output: `MCP server${down.length > 1 ? 's' : ''} not up: ${down.map((c) => `${c.name} (${c.state})`).join(', ')}`,
          };
        }
        return { status: 'pass', observedValue: this.definitions().length, observedUnit: 'tools' };
      },
    };
  }
}
