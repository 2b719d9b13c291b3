import type { EventBody } from '@relay/common';
import { Webhook } from 'standardwebhooks';
import { reply, TestServer } from './http-servers.js';
import { waitFor } from './services.js';

/** One event delivery as a receiver saw it. */
export interface ReceivedEvent {
  path: string;
  body: EventBody;
  webhookId: string;
  headers: Record<string, string | string[] | undefined>;
  /**
   * Whether `new Webhook(secret).verify(body, headers)` (the independent
   * `standardwebhooks` package) accepted it and returned the body; null for
   * a route without a secret.
   */
  verified: boolean | null;
  /** The status code the route answered. */
  answered: number;
  at: number;
}

export interface RouteOptions {
  /** The application's signing secret (`whsec_...`): every delivery is verified with it. */
  secret?: string;
  /**
   * The status code to answer the `count`-th request of this route (1-based).
   * Read at each request, so a test can change its mind.
   * @defaultValue 200
   */
  answer?: (count: number) => number;
  /** Waits this long before answering, so that deliveries are in flight for a while. @defaultValue 0 */
  delayMs?: number;
}

/**
 * A webhook and subscription receiver on 127.0.0.1, port 0: one route per
 * destination, each recording every event delivered to it, parsed, with its
 * `webhook-id` and whether its Standard Webhooks signature verified.
 */
export class EventReceiver {
  readonly events: ReceivedEvent[] = [];
  private readonly server = new TestServer();

  async listen(): Promise<this> {
    await this.server.listen();
    return this;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** Adds (or replaces) the route at `path`; returns its URL. */
  route(path: string, options: RouteOptions = {}): string {
    const webhook = options.secret ? new Webhook(options.secret) : null;
    this.server.on(path, (req, res, count) => {
      const headers = req.headers as Record<string, string>;
      let verified: boolean | null = null;
      if (webhook) {
        try {
          verified = JSON.stringify(webhook.verify(req.body, headers)) === JSON.stringify(JSON.parse(req.body));
        } catch {
          verified = false;
        }
      }
      const answered = options.answer?.(count) ?? 200;
      let body: EventBody;
      try {
        body = JSON.parse(req.body) as EventBody;
      } catch {
        body = { unparsable: req.body } as unknown as EventBody;
      }
      this.events.push({
        path,
        body,
        webhookId: headers['webhook-id'] ?? '',
        headers: req.headers,
        verified,
        answered,
        at: req.at,
      });
      const answer = () => reply(res, answered, answered < 300 ? '' : 'not now');
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
    return this.server.url(path);
  }

  /** Deliveries received at `path`, in order of arrival. */
  at(path: string): ReceivedEvent[] {
    return this.events.filter((e) => e.path === path);
  }

  /** Waits until the deliveries at `path` satisfy `done`; returns them. */
  async waitAt(
    path: string,
    done: (events: ReceivedEvent[]) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<ReceivedEvent[]> {
    await waitFor(() => done(this.at(path)), timeoutMs, `${path}: ${what}`).catch((err: Error) => {
      const seen = this.at(path).map((e) => `${e.body.event}#${e.body.sequence} ${e.body.jobId}`);
      throw new Error(`${err.message}; received: ${JSON.stringify(seen)}`);
    });
    return this.at(path);
  }
}

/** `event#sequence` of each delivery, for assertions that read well when they fail. */
export function eventSummary(events: ReceivedEvent[]): string[] {
  return events.map((e) => `${e.body.event}#${e.body.sequence}`);
}
