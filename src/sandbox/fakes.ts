/**
 * The fake upstream APIs mounted by the sandbox, one line each; every fake is a Fastify plugin
 * built from the shared SandboxState (recorded calls, queued faults).
 */
import type { FastifyPluginAsync } from 'fastify';
import { botApiFake } from './bot-api.ts';
import { graphApiFake } from './graph-api.ts';
import { mediaFake } from './media.ts';
import { openaiFake } from './openai.ts';
import type { SandboxState } from './state.ts';

/** Fake plugins, mounted in this order. */
export const SANDBOX_FAKES: readonly ((state: SandboxState) => FastifyPluginAsync)[] = [
  mediaFake,
  graphApiFake,
  botApiFake,
  openaiFake,
];
