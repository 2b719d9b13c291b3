/**
 * A Server-Sent Events parser for a body read with fetch(). EventSource cannot
 * send an Authorization header and the key must never be in a URL, so the
 * console reads the stream with fetch and parses the event-stream format
 * (WHATWG HTML, "Parsing an event stream") itself. Pure: feed it text, it
 * returns the complete events; a partial event waits for the next chunk.
 */
export interface SseEvent {
  event: string;
  data: string;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  /** Adds decoded text; returns the events it completed. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    // Lines end with CRLF, LF or CR; a CR at the very end may be half of a CRLF, so it waits.
    for (;;) {
      const match = /\r\n|\n|\r(?!$)/.exec(this.buffer);
      if (!match) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const done = this.line(line);
      if (done) out.push(done);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      // A blank line dispatches; an event with no data line is dropped, as browsers do.
      const event = this.data.length ? { event: this.event || 'message', data: this.data.join('\n') } : null;
      this.event = '';
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return null; // a comment: the server's keep-alive ping
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    return null; // id and retry are not used: the console reconnects on its own schedule
  }
}
