/**
 * What WADI tells a user whose media it could not use, in Spanish (default) and English. Each
 * outcome without usable text maps to one notice; the limit is named when a file was too large.
 */
import { SUPPORTED_DOCUMENTS } from './extract.ts';
import { formatBytes } from './limits.ts';
import type { MediaKind, MediaOutcome } from './service.ts';

type Locale = 'es' | 'en';

const NAMES: Record<Locale, Record<MediaKind, string>> = {
  es: {
    audio: 'el audio',
    image: 'la imagen',
    sticker: 'el sticker',
    document: 'el documento',
    video: 'el vídeo',
    location: 'la ubicación',
    contacts: 'el contacto',
  },
  en: {
    audio: 'the audio',
    image: 'the image',
    sticker: 'the sticker',
    document: 'the document',
    video: 'the video',
    location: 'the location',
    contacts: 'the contact',
  },
};

/** The notice for an item WADI could not use. */
export function mediaNotice(
  locale: Locale,
  kind: MediaKind,
  outcome: MediaOutcome | 'vision_rejected',
  limit?: number,
): string {
  const what = NAMES[locale][kind] ?? NAMES[locale].document;
  if (locale === 'en') {
    switch (outcome) {
      case 'too_large':
        return `${cap(what)} is too large for me${limit ? ` (the limit is ${formatBytes(limit)})` : ''}. Could you send a smaller one, or write it?`;
      case 'gone':
      case 'integrity':
        return `I couldn't download ${what}. Please send it again.`;
      case 'unsupported':
        if (kind === 'document') return `I can't read this kind of document yet. I can read ${SUPPORTED_DOCUMENTS}.`;
        return kind === 'sticker'
          ? `I can't see animated stickers yet. Could you tell me what you mean?`
          : `I can't watch videos yet. Could you tell me what it shows?`;
      case 'disabled':
        return kind === 'audio'
          ? `I can't listen to voice messages right now. Could you write it, please?`
          : `I can't see images right now. Could you describe what you need?`;
      case 'empty':
        return kind === 'audio'
          ? `I couldn't make out the audio. Could you repeat it or write it?`
          : `I found nothing in ${what}. Could you send it again?`;
      case 'vision_rejected':
        return `I couldn't look at the image. Could you tell me what it shows?`;
      default:
        return `I couldn't process ${what}. Could you write it, please?`;
    }
  }
  switch (outcome) {
    case 'too_large':
      return `${cap(what)} es demasiado grande para mí${limit ? ` (el límite es ${formatBytes(limit)})` : ''}. ¿Puedes enviar uno más pequeño o escribírmelo?`;
    case 'gone':
    case 'integrity':
      return `No pude descargar ${what}. Por favor, envíalo de nuevo.`;
    case 'unsupported':
      if (kind === 'document')
        return `Todavía no puedo leer este tipo de documento. Puedo leer ${SUPPORTED_DOCUMENTS}.`;
      return kind === 'sticker'
        ? 'Todavía no puedo ver stickers animados. ¿Me cuentas qué quieres decir?'
        : 'Todavía no puedo ver vídeos. ¿Me cuentas qué muestra?';
    case 'disabled':
      return kind === 'audio'
        ? 'Ahora mismo no puedo escuchar notas de voz. ¿Me lo escribes, por favor?'
        : 'Ahora mismo no puedo ver imágenes. ¿Me describes lo que necesitas?';
    case 'empty':
      return kind === 'audio'
        ? 'No logré entender el audio. ¿Puedes repetirlo o escribírmelo?'
        : `No encontré nada en ${what}. ¿Puedes enviarlo de nuevo?`;
    case 'vision_rejected':
      return 'No pude ver la imagen. ¿Me cuentas qué muestra?';
    default:
      return `No pude procesar ${what}. ¿Me lo escribes, por favor?`;
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
