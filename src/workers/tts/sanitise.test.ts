import { describe, expect, it } from 'vitest';
import { isSpeakable, sanitiseForSpeech } from './sanitise.js';

describe('sanitiseForSpeech', () => {
  it.each([
    ['**Hello** there, *friend*!', 'Hello there, friend!'],
    ['# Title\n- first item\n- second item', 'Title first item second item'],
    ['Use `npm test` now.', 'Use npm test now.'],
    ['See [the docs](https://example.com/docs) for more.', 'See the docs for more.'],
    ['Visit https://example.com/a?b=c today', 'Visit today'],
    ['I love it 😀👍🏽 so much ❤️!', 'I love it so much !'],
    ['Family 👨‍👩‍👧 time 🇯🇵', 'Family time'],
    ['[joy] Great to see you!', 'Great to see you!'],
    ['Wow!!!!!! Really?????', 'Wow!!! Really???'],
    ['hello~ ~~gone~~ __bold__ snake_case_name', 'hello gone bold snake_case_name'],
    ['line one\r\n\r\nline two\tend', 'line one line two end'],
    ['你好，我是 **Aria**。', '你好，我是 Aria。'],
    ['> quoted text\n1. numbered', 'quoted text numbered'],
    ['a | table | row', 'a table row'],
    ['vertical\u000btab and bell\u0007', 'vertical tab and bell'],
  ])('%j -> %j', (input, expected) => {
    expect(sanitiseForSpeech(input)).toBe(expected);
  });

  it('keeps brackets that are not emotion tags', () => {
    expect(sanitiseForSpeech('The answer [probably] is yes.')).toBe('The answer [probably] is yes.');
  });
});

describe('isSpeakable', () => {
  it.each([
    ['Hello', true],
    ['42', true],
    ['你好', true],
    ['...', false],
    ['', false],
    [sanitiseForSpeech('😀 🎉 ✨'), false],
    [sanitiseForSpeech('*** ---'), false],
  ])('%j -> %s', (text, expected) => {
    expect(isSpeakable(text)).toBe(expected);
  });
});
