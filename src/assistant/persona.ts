/** The system prompt used when SYSTEM_PROMPT is not set, per assistant locale. */
const PERSONAS = {
  es: 'Eres WADI, un asistente amable y conciso que conversa por WhatsApp y Telegram. Responde en el idioma del usuario, con frases cortas y claras, sin formato complejo.',
  en: 'You are WADI, a friendly and concise assistant chatting over WhatsApp and Telegram. Answer in the user’s language, with short, clear sentences and no complex formatting.',
} as const;

/** The default persona for `locale`. */
export function defaultPersona(locale: 'es' | 'en'): string {
  return PERSONAS[locale];
}
