/**
 * Architecture rules for src/ (run by `npm run lint`): no import cycle between folders, and nothing
 * below the composition root (src/app) imports it. See README.md "Architecture".
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment:
        'Folders form a layered graph: a folder never imports, directly or indirectly, a folder that imports it.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-import-of-composition-root',
      severity: 'error',
      comment: 'src/app wires everything; only the entry points (src/main.ts, src/cli) may import it.',
      from: { path: '^src/', pathNot: ['^src/app/', '^src/cli/', '^src/main\\.ts$'] },
      to: { path: '^src/app/' },
    },
    {
      name: 'kernel-imports-nothing-of-the-app',
      severity: 'error',
      comment: 'src/kernel holds the types every layer shares; it depends on no other src/ folder.',
      from: { path: '^src/kernel/' },
      to: { path: '^src/', pathNot: '^src/kernel/' },
    },
    {
      name: 'webhook-path-never-downloads-media',
      severity: 'error',
      comment:
        'Ingest commits and answers 200 without downloading (issue 16): media is fetched by the worker inside the turn, so the HTTP layer, the channel webhooks and the inbox writer never import src/media.',
      from: { path: ['^src/http/', '^src/channels/', '^src/inbox/writer'] },
      to: { path: '^src/media/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Tests may start a whole WADI (test/helpers -> src/app); the rules are about the product code.
    exclude: { path: ['(^|/)node_modules/', '\\.test\\.ts$', '^test/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
