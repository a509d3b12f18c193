/** Minimal typing for the `cors` middleware (used only by the Express baseline; no @types/cors is installed). */
declare module 'cors' {
  import type { RequestHandler } from 'express';
  /** Express CORS middleware. */
  export default function cors(options?: Record<string, unknown>): RequestHandler;
}
