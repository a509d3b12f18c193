/** The inbox feature: one group-committing writer per process, shared with the webhook routes. */
import { EventEmitter } from 'node:events';
import type { WadiModule } from '../kernel/module.ts';
import type { ModuleContext } from '../platform/context.ts';
import { InboxWriter } from './writer.ts';

/** The built inbox: the writer the channels store into and the wake-up events the workers wait on. */
export interface InboxFeature {
  readonly module: WadiModule;
  readonly writer: InboxWriter;
  /** Emits 'committed' (ids: number[]) after new inbound events are stored, to wake workers. */
  readonly events: EventEmitter;
}

/** Builds the writer and its events. */
export function inboxModule(ctx: ModuleContext): InboxFeature {
  const events = new EventEmitter();
  events.setMaxListeners(100);
  const writer = new InboxWriter(ctx.database, { onCommitted: (ids) => events.emit('committed', ids) });
  return { module: { name: 'inbox' }, writer, events };
}
