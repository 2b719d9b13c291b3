import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/sse.js';

describe('SseParser', () => {
  it('returns events split across chunks only once they are complete', () => {
    const p = new SseParser();
    expect(p.push('event: snap')).toEqual([]);
    expect(p.push('shot\ndata: {"a"')).toEqual([]);
    expect(p.push(':1}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'snapshot', data: '{"a":1}' }]);
  });

  it('joins several data lines with newlines and defaults the event name to message', () => {
    expect(new SseParser().push('data: one\ndata: two\n\n')).toEqual([{ event: 'message', data: 'one\ntwo' }]);
  });

  it('ignores comments (keep-alive pings), unknown fields and events without data', () => {
    const p = new SseParser();
    expect(p.push(': ping\n\nid: 7\nretry: 10\n\nevent: history\n\n')).toEqual([]);
    expect(p.push('data: x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('accepts CRLF and CR line ends, a CR split from its LF included', () => {
    const p = new SseParser();
    expect(p.push('event: a\r\ndata: 1\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual([{ event: 'a', data: '1' }]);
    expect(p.push('data: 2\r\rdata: 3\n\n')).toEqual([
      { event: 'message', data: '2' },
      { event: 'message', data: '3' },
    ]);
  });

  it('keeps a value without the space after the colon, and a field with no colon as empty', () => {
    expect(new SseParser().push('data:tight\ndata\n\n')).toEqual([{ event: 'message', data: 'tight\n' }]);
  });
});
