#!/usr/bin/env node
// Entry point for the `wadi` command. Node ≥ 22.18 runs the TypeScript sources natively (type
// stripping); on Node 20 the tsx loader, a runtime dependency, does the same job. No build step.
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import('../src/main.ts');
