/** WADI's own chat texts (not the assistant's answers), in Spanish (default) and English. */

/** Supported locales for WADI's own texts. */
export type Locale = 'es' | 'en';

/** Every text WADI writes by itself. */
export interface Texts {
  readonly welcome: (name?: string) => string;
  readonly help: string;
  readonly reset: string;
  readonly unsupported: (kind: string) => string;
  readonly unavailable: string;
  /** The user asked for a person (/human or a HANDOFF_KEYWORDS word). */
  readonly handoff: string;
  /** The user sent an OPT_OUT_KEYWORDS word; names the keyword that opts back in, if any. */
  readonly optedOut: (optInKeyword?: string) => string;
  /** The user sent an OPT_IN_KEYWORDS word after opting out; names the opt-out keyword, if any. */
  readonly optedIn: (optOutKeyword?: string) => string;
  /** The words each notice prefers to name when the deployment accepts them (keywordToName). */
  readonly keywordNames: { readonly optIn: readonly string[]; readonly optOut: readonly string[] };
  /** The conversation no longer fits the model, even trimmed. */
  readonly tooLong: string;
  /** A message went to the dead letter: it will not be answered. */
  readonly deadLetter: string;
  readonly kindNames: Record<string, string>;
}

const es: Texts = {
  welcome: (name) =>
    `¡Hola${name ? `, ${name}` : ''}! Soy WADI, tu asistente. Escríbeme lo que necesites y te responderé. Envía /help para ver lo que puedo hacer.`,
  help: 'Puedo responder a tus mensajes de texto. Comandos:\n/start: bienvenida\n/reset: olvidar la conversación y empezar de cero\n/human: hablar con una persona\n/help: esta ayuda',
  reset: 'Listo, he olvidado nuestra conversación. Empecemos de nuevo.',
  unsupported: (kind) =>
    `Por ahora solo entiendo mensajes de texto; no puedo procesar ${kind}. ¿Me lo escribes, por favor?`,
  unavailable: 'Estoy teniendo problemas técnicos. Te responderé en cuanto pueda.',
  handoff: 'De acuerdo, te paso con una persona del equipo. Te responderá por aquí lo antes posible.',
  optedOut: (k) =>
    `Listo, no te enviaremos más mensajes por iniciativa propia. Seguiré respondiendo si me escribes.${k ? ` Envía ${k} para volver a recibirlos.` : ''}`,
  optedIn: (k) =>
    `Perfecto, vuelves a recibir nuestros avisos.${k ? ` Envía ${k} cuando quieras dejar de recibirlos.` : ''}`,
  keywordNames: { optIn: ['alta', 'start'], optOut: ['baja', 'stop'] },
  tooLong:
    'Lo siento, la conversación se ha hecho demasiado larga para responderte. Prueba con un mensaje más corto o envía /reset para empezar de cero.',
  deadLetter:
    'Lo siento, no he podido responder a tu último mensaje por un problema técnico. ¿Puedes enviarlo de nuevo en unos minutos?',
  kindNames: {
    audio: 'audios',
    image: 'imágenes',
    video: 'vídeos',
    document: 'documentos',
    sticker: 'stickers',
    location: 'ubicaciones',
    contacts: 'contactos',
    reaction: 'reacciones',
  },
};

const en: Texts = {
  welcome: (name) =>
    `Hi${name ? `, ${name}` : ''}! I'm WADI, your assistant. Write me whatever you need and I'll answer. Send /help to see what I can do.`,
  help: 'I can answer your text messages. Commands:\n/start: welcome\n/reset: forget our conversation and start over\n/human: talk to a person\n/help: this help',
  reset: "Done, I've forgotten our conversation. Let's start over.",
  unsupported: (kind) =>
    `For now I only understand text messages; I can't process ${kind}. Could you write it, please?`,
  unavailable: "I'm having some technical trouble. I'll answer as soon as I can.",
  handoff: "Sure, I'm passing you to a person from the team. They'll answer you here as soon as possible.",
  optedOut: (k) =>
    `Done, we won't send you messages on our own initiative any more. I'll still answer if you write.${k ? ` Send ${k} to receive them again.` : ''}`,
  optedIn: (k) => `Great, you'll receive our notices again.${k ? ` Send ${k} whenever you want to stop them.` : ''}`,
  keywordNames: { optIn: ['start', 'alta'], optOut: ['stop', 'baja'] },
  tooLong:
    'Sorry, our conversation has grown too long for me to answer. Try a shorter message, or send /reset to start over.',
  deadLetter:
    "Sorry, I couldn't answer your last message because of a technical problem. Could you send it again in a few minutes?",
  kindNames: {
    audio: 'voice or audio messages',
    image: 'images',
    video: 'videos',
    document: 'documents',
    sticker: 'stickers',
    location: 'locations',
    contacts: 'contacts',
    reaction: 'reactions',
  },
};

/** The texts for a locale. */
export function texts(locale: Locale): Texts {
  return locale === 'en' ? en : es;
}

/** Picks the locale from a platform hint ("en-US") or falls back to the configured default. */
export function resolveLocale(hint: string | null | undefined, fallback: Locale): Locale {
  const l = hint?.toLowerCase() ?? '';
  if (l.startsWith('en')) return 'en';
  if (l.startsWith('es')) return 'es';
  return fallback;
}

/** The name of a message kind for the "I only understand text" reply. */
export function kindName(locale: Locale, kind: string): string {
  const t = texts(locale);
  return t.kindNames[kind] ?? (locale === 'en' ? 'this kind of message' : 'este tipo de mensaje');
}
