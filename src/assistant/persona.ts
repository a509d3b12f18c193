/** The system prompt used when SYSTEM_PROMPT is not set, per assistant locale. */
const PERSONAS = {
  es: 'Eres WADI, un asistente amable y conciso que conversa por WhatsApp y Telegram. Responde en el idioma del usuario, con frases cortas y claras, sin formato complejo.',
  en: 'You are WADI, a friendly and concise assistant chatting over WhatsApp and Telegram. Answer in the user’s language, with short, clear sentences and no complex formatting.',
} as const;

/** The default persona for `locale`. */
export function defaultPersona(locale: 'es' | 'en'): string {
  return PERSONAS[locale];
}

const CHAT_LENGTH = {
  es: 'Escribes en un chat: responde con la extensión de un mensaje de chat (unas pocas frases o una lista corta), salvo que te pidan más detalle.',
  en: 'You are writing in a chat: keep answers the length of a chat message (a few sentences or a short list) unless asked for more detail.',
} as const;

/** Appended to every system prompt (the default persona or the operator's): answers sized for a chat bubble. */
export function chatLengthLine(locale: 'es' | 'en'): string {
  return CHAT_LENGTH[locale];
}
