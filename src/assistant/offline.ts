/**
 * The offline assistant: no network, no key, deterministic. It makes `npm start` a working demo
 * (never used in production: config refuses it). It answers greetings, the time, thanks and help,
 * and otherwise says what it understood and that it is the offline demo.
 */
import { type Assistant, type AssistantReply, type AssistantRequest, contentText } from './assistant.ts';

const GREETING = /\b(hola|buenas|buenos d[ií]as|hello|hi|hey|good (morning|afternoon|evening))\b/i;
const TIME = /\b(hora|time|qu[eé] d[ií]a|fecha|date)\b/i;
const THANKS = /\b(gracias|thanks|thank you)\b/i;
const HELP = /\b(ayuda|help|qu[eé] puedes hacer|what can you do)\b/i;

/** Deterministic replies in the locale; `now` is injectable for the time intent. */
export class OfflineAssistant implements Assistant {
  readonly name = 'offline';
  private readonly now: () => Date;

  constructor(opts: { now?: () => Date } = {}) {
    this.now = opts.now ?? (() => new Date());
  }

  /** Answers the latest user messages (all of a coalesced burst). */
  async reply(req: AssistantRequest): Promise<AssistantReply> {
    const msgs = req.messages;
    let i = msgs.length;
    while (i > 0 && msgs[i - 1].role === 'user') i--;
    const said = msgs
      .slice(i)
      .map((m) => contentText(m.content).trim())
      .filter(Boolean)
      .join('\n');
    const text = answer(said, req.locale, this.now());
    return { text, usage: { promptTokens: 0, completionTokens: 0 } };
  }
}

function answer(said: string, locale: 'es' | 'en', now: Date): string {
  const en = locale === 'en';
  if (TIME.test(said)) {
    const t = now.toISOString().slice(0, 16).replace('T', ' ');
    return en ? `It is ${t} UTC.` : `Son las ${t} UTC.`;
  }
  if (HELP.test(said)) {
    return en
      ? 'I am the offline demo of WADI: I can greet you, tell you the time and repeat what I understood. Connect an OpenAI-compatible LLM (OPENAI_API_KEY) for real answers.'
      : 'Soy la demo sin conexión de WADI: puedo saludarte, decirte la hora y repetir lo que entendí. Conecta un LLM compatible con OpenAI (OPENAI_API_KEY) para respuestas reales.';
  }
  if (THANKS.test(said)) return en ? "You're welcome!" : '¡De nada!';
  if (GREETING.test(said) && said.length < 40) {
    return en ? 'Hello! How can I help you today?' : '¡Hola! ¿En qué puedo ayudarte hoy?';
  }
  return en
    ? `I understood: «${said}». (This is WADI's offline demo; connect an LLM for real answers.)`
    : `Entendí: «${said}». (Esta es la demo sin conexión de WADI; conecta un LLM para respuestas reales.)`;
}
