/** The inbox feature: one group-committing writer per process, shared with the webhook routes. */
import { EventEmitter } from 'node:events';
import type { ModuleFactory } from '../kernel/module.ts';
import { provide } from '../app/shared.ts';
import { InboxWriter } from './writer.ts';

/** Registers `inbox.writer` and `inbox.events`. */
export const inboxModule: ModuleFactory = (ctx) => {
  const events = new EventEmitter();
  events.setMaxListeners(100);
  const writer = new InboxWriter(ctx.database, { onCommitted: (ids) => events.emit('committed', ids) });
  provide(ctx, 'inbox.writer', writer);
  provide(ctx, 'inbox.events', events);
  return { name: 'inbox' };
};
