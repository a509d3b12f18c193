/** Types of scripts/ensure-web.mjs. */
/** True when web/dist is missing or older than web/src, web/index.html or web/vite.config.ts. */
export function isStale(): boolean;
/** True when the dashboard's build tool (a dev dependency) is installed. */
export function canBuild(): boolean;
/** True when web/dist holds a built dashboard. */
export function isBuilt(): boolean;
/** Builds the dashboard when stale (or forced); true when it is present afterwards. */
export function ensureWeb(opts?: { force?: boolean; quiet?: boolean }): boolean;
