/**
 * Chatting with a whole sandbox WADI over HTTP as a WhatsApp user: send through the real webhook
 * (the dashboard's Try it API) and wait for what the fake Graph API received.
 */
import { expect } from 'vitest';
import { TEST_ADMIN_KEY } from './wadi.ts';

/** A call the fake Graph API received. */
export interface GraphCall {
  seq: number;
  kind: string;
  status: number;
  body: {
    to?: string;
    type?: string;
    text?: { body?: string };
    template?: { name: string; language: { code: string }; components?: unknown[] };
  };
}

/** A sandbox chat against the WADI at `baseUrl()`. */
export function sandboxChat(baseUrl: () => string) {
  const admin = async <T = Record<string, unknown>>(
    method: string,
    url: string,
    body?: unknown,
  ): Promise<{ status: number; json: T }> => {
    const res = await fetch(`${baseUrl()}/admin${url}`, {
      method,
      headers: { 'x-admin-key': TEST_ADMIN_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as T };
  };
  const graphCalls = async (): Promise<GraphCall[]> => {
    const res = await fetch(`${baseUrl()}/sandbox/outbox?channel=whatsapp`);
    return ((await res.json()) as { calls: GraphCall[] }).calls;
  };
  return {
    admin,
    graphCalls,
    /** Sends `text` as WhatsApp user `from` through the real webhook. */
    async userSays(from: string, text: string, name = 'Lucía Pérez'): Promise<void> {
      const r = await admin('POST', '/sandbox/send', { channel: 'whatsapp', from, name, text });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    },
    /** Waits until the fake Graph API received a call matching `pred`. */
    async untilCall(pred: (c: GraphCall) => boolean, what: string, timeoutMs = 20_000): Promise<GraphCall> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const hit = (await graphCalls()).find(pred);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the fake Graph API never received ${what}; got ${JSON.stringify(await graphCalls())}`);
    },
    /** The conversation id of a chat. */
    async conversationId(chatId: string): Promise<number> {
      const r = await admin<{ items: { id: number; chatId: string }[] }>('GET', `/sessions?q=${chatId}`);
      const s = r.json.items.find((i) => i.chatId === chatId);
      if (!s) throw new Error(`no conversation for ${chatId}`);
      return s.id;
    },
  };
}
