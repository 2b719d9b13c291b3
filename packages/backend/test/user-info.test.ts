import { describe, expect, it } from 'vitest';
import { userInfoProblems } from '../src/services/submission-guard.js';

/** The refusal of URLs with user info, as POST /api/jobs applies it before the job is accepted. */
describe('userInfoProblems', () => {
  const paths = (body: unknown) => userInfoProblems(body).map((p) => p.instancePath);

  it.each([
    ['user and password', 'http://user:pass@api.example/hook'],
    ['user only', 'https://user@api.example/'],
    ['an empty user info', 'http://@api.example/'],
    ['a password only', 'http://:secret@api.example/'],
    ['an encoded @ in the user', 'http://a%40b:c@api.example/'],
    ['a port after the user info', 'http://u:p@api.example:8080/x'],
  ])('refuses %s', (_label, url) => {
    expect(paths({ targetUrl: url })).toEqual(['/targetUrl']);
    expect(paths({ targetUrl: 'https://api.example/', callbackUrl: url })).toEqual(['/callbackUrl']);
  });

  it('names both fields when both carry user info, saying what to do instead', () => {
    const problems = userInfoProblems({ targetUrl: 'http://a:b@t.example/', callbackUrl: 'http://c@cb.example/' });
    expect(problems.map((p) => p.instancePath)).toEqual(['/targetUrl', '/callbackUrl']);
    expect(problems[0]!.message).toBe('must not contain user info (user:password@); send credentials in headers');
  });

  it.each([
    'https://api.example/hook',
    'https://api.example/users/@me',
    'https://api.example/?email=a@b.example',
    'https://api.example/#a@b',
    'http://[::1]:8080/x',
  ])('accepts %s (an @ outside the authority is not user info)', (url) => {
    expect(paths({ targetUrl: url, callbackUrl: url })).toEqual([]);
  });

  it('leaves URLs it cannot parse, and bodies that are not objects, to the schema', () => {
    expect(paths({ targetUrl: 'not a url@x' })).toEqual([]);
    expect(paths(null)).toEqual([]);
    expect(paths({ targetUrl: 42 })).toEqual([]);
  });
});
