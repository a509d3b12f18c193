/** The PostgreSQL text search configuration for WADI's locale (stemming and stop words). */
export type SearchLanguage = 'spanish' | 'english';

/** `es` → spanish, `en` → english. */
export function searchLanguage(locale: 'es' | 'en'): SearchLanguage {
  return locale === 'en' ? 'english' : 'spanish';
}
