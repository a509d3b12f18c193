/**
 * The requests a load run sends: correctly signed WhatsApp webhooks with unique wamids from many
 * distinct senders, Telegram updates with the secret header, and a few readiness reads. (The
 * dashboards' admin reads are a few operator clients, see operators.ts.) With `media`, a share of
 * the chat messages are voice notes and images (with the caption `hola <n>`) by the media ids of
 * files uploaded to the sandbox's media store beforehand (see media.ts).
 */
import {
  metaJson,
  signWhatsapp,
  telegramMediaUpdate,
  telegramTextUpdate,
  whatsappMediaWebhook,
  whatsappTextWebhook,
} from '../../sandbox/payloads.ts';
import type { LoadMedia } from './media.ts';
import type { Scenario } from './scenarios.ts';

/** What signing needs. */
export interface TrafficSecrets {
  readonly whatsappAppSecret?: string;
  readonly whatsappPhoneNumberId?: string;
  readonly telegramWebhookSecret?: string;
  readonly adminKey?: string;
}

/** One request to send. */
export interface TrafficRequest {
  readonly kind: 'whatsapp' | 'telegram' | 'health' | 'admin';
  /** Chat messages: the sender's chat id and the message's number (its text is `hola <n>`). */
  readonly chat?: string;
  readonly n?: number;
  /** A voice note or an image instead of a text. */
  readonly media?: 'voice' | 'image';
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** Generates requests by the scenario's mix; ids are unique per generator. */
export class TrafficGenerator {
  private n = 0;
  private readonly runId: string;
  private readonly updateBase: number;
  private readonly weights: [TrafficRequest['kind'], number][];
  private readonly scenario: Scenario;
  private readonly secrets: TrafficSecrets;
  private readonly media: LoadMedia | undefined;
  /** Media messages generated so far. */
  readonly mediaSent = { voice: 0, image: 0 };

  constructor(
    scenario: Scenario,
    secrets: TrafficSecrets,
    runId = Date.now().toString(36),
    media: LoadMedia | undefined = undefined,
  ) {
    this.scenario = scenario;
    this.secrets = secrets;
    this.media = media;
    this.runId = runId;
    // Telegram update ids must be integers and unique across runs.
    this.updateBase = Date.now() * 1000;
    const m = scenario.mix;
    this.weights = (
      [
        ['whatsapp', secrets.whatsappAppSecret ? m.whatsapp : 0],
        ['telegram', secrets.telegramWebhookSecret ? m.telegram : 0],
        ['health', m.health],
        ['admin', secrets.adminKey ? m.admin : 0],
      ] as [TrafficRequest['kind'], number][]
    ).filter(([, w]) => w > 0);
    if (this.weights.length === 0) throw new Error('the traffic mix is empty: configure at least one channel');
  }

  /** The next request, chosen at random by weight. */
  next(random = Math.random): TrafficRequest {
    const total = this.weights.reduce((s, [, w]) => s + w, 0);
    let r = random() * total;
    let kind = this.weights[0][0];
    for (const [k, w] of this.weights) {
      if (r < w) {
        kind = k;
        break;
      }
      r -= w;
    }
    this.n++;
    // Chat users are many distinct senders: round robin over the pool, so one user's messages are
    // userPool messages apart (a user waits for the answer before writing again).
    const user = 1 + (this.n % this.scenario.userPool);
    switch (kind) {
      case 'whatsapp':
        return this.whatsapp(user, this.pickMedia(random));
      case 'telegram':
        return this.telegram(user, this.pickMedia(random));
      case 'admin':
        return { kind, method: 'GET', path: '/admin/stats', headers: { 'x-admin-key': this.secrets.adminKey ?? '' } };
      default:
        return { kind: 'health', method: 'GET', path: '/health/ready', headers: {} };
    }
  }

  /** Whether this chat message is a voice note, an image or (undefined) a text, by the media shares. */
  private pickMedia(random: () => number): 'voice' | 'image' | undefined {
    const m = this.media;
    if (!m) return undefined;
    const r = random();
    const kind = r < m.voiceShare ? 'voice' : r < m.voiceShare + m.imageShare ? 'image' : undefined;
    if (kind) this.mediaSent[kind]++;
    return kind;
  }

  private whatsapp(user: number, media?: 'voice' | 'image'): TrafficRequest {
    const from = `3460${String(user).padStart(7, '0')}`;
    const common = {
      from,
      name: `Load ${user}`,
      id: `wamid.load.${this.runId}.${this.n}`,
      phoneNumberId: this.secrets.whatsappPhoneNumberId,
    };
    const file = media && this.media ? this.media[media] : undefined;
    const body = metaJson(
      media && file
        ? whatsappMediaWebhook({
            ...common,
            media,
            mediaId: file.id,
            mimeType: file.mimeType,
            sha256: file.sha256,
            caption: media === 'image' ? `hola ${this.n}` : undefined,
          })
        : whatsappTextWebhook({ ...common, text: `hola ${this.n}` }),
    );
    return {
      kind: 'whatsapp',
      chat: from,
      n: this.n,
      ...(file ? { media } : {}),
      method: 'POST',
      path: '/webhooks/whatsapp',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signWhatsapp(body, this.secrets.whatsappAppSecret ?? ''),
      },
      body,
    };
  }

  private telegram(user: number, media?: 'voice' | 'image'): TrafficRequest {
    const common = { updateId: this.updateBase + this.n, chatId: 700_000_000 + user, name: `Load ${user}` };
    const file = media && this.media ? this.media[media] : undefined;
    const body = JSON.stringify(
      media && file
        ? telegramMediaUpdate({
            ...common,
            languageCode: 'es',
            media,
            fileId: file.id,
            fileSize: file.size,
            mimeType: file.mimeType,
            caption: media === 'image' ? `hola ${this.n}` : undefined,
          })
        : telegramTextUpdate({ ...common, text: `hola ${this.n}` }),
    );
    return {
      kind: 'telegram',
      chat: String(700_000_000 + user),
      n: this.n,
      ...(file ? { media } : {}),
      method: 'POST',
      path: '/webhooks/telegram',
      headers: {
        'content-type': 'application/json',
        'x-telegram-bot-api-secret-token': this.secrets.telegramWebhookSecret ?? '',
      },
      body,
    };
  }
}
