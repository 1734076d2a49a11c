import { describe, expect, it } from 'vitest';
import { LiveChatMessage } from '../../../shared/live-chat.js';
import { parsePaidAmount } from './youtube-currency.js';
import { jsonAfter, parseTarget, readWatchPage } from './youtube-page.js';
import { continuationOf, parseChatPage, rolesOf, textOf } from './youtube-parse.js';

const ctx = { connection: 'yt', videoId: 'abcdefghijk', receivedAt: 1_800_000_000_000 };
const author = { authorName: { simpleText: '@alice' }, authorExternalChannelId: 'UCaaaaaaaaaaaaaaaaaaaaaa' };
const add = (item: unknown): unknown => ({ addChatItemAction: { item } });
const page = (actions: unknown[], continuations: unknown[] = [{ timedContinuationData: { timeoutMs: 5000, continuation: 'next' } }]): unknown => ({
  continuationContents: { liveChatContinuation: { continuations, actions } },
});

describe('parsePaidAmount', () => {
  it.each([
    ['$5.00', 5, 'USD'],
    ['€5,00', 5, 'EUR'],
    ['£2.50', 2.5, 'GBP'],
    ['¥1,000', 1000, 'JPY'],
    ['₩10,000', 10000, 'KRW'],
    ['NT$150.00', 150, 'TWD'],
    ['HK$40.00', 40, 'HKD'],
    ['A$10.00', 10, 'AUD'],
    ['CA$5.00', 5, 'CAD'],
    ['R$25,00', 25, 'BRL'],
    ['₹100.00', 100, 'INR'],
    ['CHF 5.00', 5, 'CHF'],
    ['CHF\u00a01’000.00', 1000, 'CHF'],
    ['5.00 PLN', 5, 'PLN'],
    ['€1.234,56', 1234.56, 'EUR'],
    ['$1,234.56', 1234.56, 'USD'],
    ['MX$100.00', 100, 'MXN'],
    ['NOK 200.00', 200, 'NOK'],
    ['Rp50.000', 50000, 'IDR'],
    ['R100.00', 100, 'ZAR'],
    ['RM5.00', 5, 'MYR'],
  ])('%s -> %d %s', (text, amount, currency) => {
    expect(parsePaidAmount(text)).toEqual({ amount, currency });
  });

  it('keeps an unknown symbol as the currency rather than guessing, and refuses text without a number', () => {
    expect(parsePaidAmount('¤3.00')).toEqual({ amount: 3, currency: '¤' });
    expect(parsePaidAmount('free')).toBeUndefined();
    expect(parsePaidAmount('')).toBeUndefined();
  });
});

describe('textOf and rolesOf', () => {
  it('joins text runs and writes emojis as their first shortcut (custom ones by label)', () => {
    const runs = [
      { text: 'hi ' },
      { emoji: { emojiId: '😀', shortcuts: [':grinning:', ':grinning_face:'], image: {} } },
      { text: ' and ', bold: true },
      { emoji: { emojiId: 'UCx/abc', isCustomEmoji: true, image: { accessibility: { accessibilityData: { label: 'yougotthis' } } } } },
      { navigationEndpoint: {} },
    ];
    expect(textOf({ runs })).toBe('hi :grinning: and :yougotthis:');
    expect(textOf({ simpleText: 'plain' })).toBe('plain');
    expect(textOf(undefined)).toBe('');
  });

  it('maps the owner, moderator, verified and member badges', () => {
    const icon = (iconType: string): unknown => ({ liveChatAuthorBadgeRenderer: { icon: { iconType }, tooltip: iconType } });
    const member = { liveChatAuthorBadgeRenderer: { customThumbnail: { thumbnails: [] }, tooltip: 'Member (2 months)' } };
    expect(rolesOf([icon('OWNER'), icon('MODERATOR'), icon('VERIFIED'), member]).sort()).toEqual(['broadcaster', 'member', 'moderator', 'verified']);
    expect(rolesOf('nope')).toEqual([]);
  });
});

describe('parseChatPage', () => {
  it('reads each kind of chat item into a valid LiveChatMessage and skips actions that are not chat', () => {
    const p = parseChatPage(
      page([
        add({ liveChatTextMessageRenderer: { id: 'T1', timestampUsec: '1800000000123456', message: { runs: [{ text: 'hello' }] }, ...author } }),
        add({ liveChatPaidMessageRenderer: { id: 'P1', purchaseAmountText: { simpleText: '$5.00' }, message: { runs: [{ text: 'sc' }] }, ...author } }),
        { addLiveChatTickerItemAction: { item: {} } },
        { markChatItemAsDeletedAction: { targetItemId: 'T0' } },
        add({ liveChatViewerEngagementMessageRenderer: { id: 'V1' } }),
        add({ liveChatPaidStickerRenderer: { id: 'S1', purchaseAmountText: { simpleText: '¥200' }, sticker: { accessibility: { accessibilityData: { label: 'wave' } } }, ...author } }),
        add({ liveChatMembershipItemRenderer: { id: 'M1', headerSubtext: { simpleText: 'New member' }, ...author } }),
        add({ liveChatMembershipItemRenderer: { id: 'M2', headerPrimaryText: { runs: [{ text: 'Member for ' }, { text: '2' }, { text: ' years' }] }, headerSubtext: { simpleText: 'Gold' }, message: { runs: [{ text: 'two years!' }] }, ...author } }),
        add({ liveChatSponsorshipsGiftPurchaseAnnouncementRenderer: { id: 'G1', authorExternalChannelId: 'UCgggggggggggggggggggggg', header: { liveChatSponsorshipsHeaderRenderer: { authorName: { simpleText: '@gifter' }, primaryText: { runs: [{ text: 'Gifted ' }, { text: '20' }, { text: ' X memberships' }] } } } } }),
      ]),
      ctx,
    );
    expect(p.malformed).toEqual([]);
    expect(p.continuation).toEqual({ token: 'next', timeoutMs: 5000 });
    const m = p.messages.map((x) => LiveChatMessage.parse(x));
    expect(m.map((x) => [x.id, x.kind])).toEqual([
      ['youtube:T1', 'message'],
      ['youtube:P1', 'paid'],
      ['youtube:S1', 'paid'],
      ['youtube:M1', 'member'],
      ['youtube:M2', 'member'],
      ['youtube:G1', 'gift'],
    ]);
    expect(m[0]).toMatchObject({ platform: 'youtube', connection: 'yt', channel: 'abcdefghijk', text: 'hello', sent_at: 1_800_000_000_123, received_at: ctx.receivedAt, author: { id: 'UCaaaaaaaaaaaaaaaaaaaaaa', name: '@alice', roles: [] } });
    expect(m[1]!.paid).toEqual({ amount: 5, currency: 'USD', display: '$5.00' });
    expect(m[2]).toMatchObject({ text: '', paid: { amount: 200, currency: 'JPY' }, gift: { name: 'Super Sticker: wave', count: 1 } });
    expect(m[3]!.gift).toEqual({ name: 'membership', count: 1 });
    expect(m[4]).toMatchObject({ text: 'two years!', gift: { name: 'Gold', count: 24 } });
    expect(m[5]).toMatchObject({ author: { id: 'UCgggggggggggggggggggggg', name: '@gifter' }, gift: { name: 'membership', count: 20 } });
  });

  it('reports a broken item and goes on with the next; a paid message with an unreadable amount is kept as paid', () => {
    const p = parseChatPage(
      page([
        add({ liveChatTextMessageRenderer: { message: { runs: [{ text: 'no id' }] }, ...author } }),
        'not an action',
        { addChatItemAction: {} },
        add({ liveChatPaidMessageRenderer: { id: 'P2', purchaseAmountText: { simpleText: 'lots' }, ...author } }),
        add({ liveChatTextMessageRenderer: { id: 'T2', message: { runs: [{ text: 'ok' }] }, ...author } }),
      ]),
      ctx,
    );
    expect(p.malformed.map((x) => x.what)).toEqual([
      'liveChatTextMessageRenderer has no id',
      'a live-chat action that is not an object',
      'addChatItemAction without an item',
      'liveChatPaidMessageRenderer P2 has an amount that cannot be read: "lots"',
    ]);
    expect(p.messages.map((x) => [x.id, x.kind, x.paid])).toEqual([
      ['youtube:P2', 'paid', undefined],
      ['youtube:T2', 'message', undefined],
    ]);
  });

  it('reads a placeholder replaced by its message (held for review) and skips the placeholder', () => {
    const p = parseChatPage(
      page([
        add({ liveChatPlaceholderItemRenderer: { id: 'H1', timestampUsec: '1' } }),
        { replaceChatItemAction: { targetItemId: 'H1', replacementItem: { liveChatTextMessageRenderer: { id: 'H1', message: { runs: [{ text: 'approved' }] }, ...author } } } },
        { replaceChatItemAction: { targetItemId: 'H2' } },
      ]),
      ctx,
    );
    expect(p.messages.map((x) => [x.id, x.text])).toEqual([['youtube:H1', 'approved']]);
    expect(p.malformed.map((x) => x.what)).toEqual(['replaceChatItemAction without a replacementItem']);
  });

  it('has no continuation once the stream has ended, and throws for an answer that is not a chat page', () => {
    expect(parseChatPage({ continuationContents: { liveChatContinuation: {} } }, ctx)).toEqual({ messages: [], malformed: [], continuation: undefined });
    expect(() => parseChatPage({ responseContext: {} }, ctx)).toThrow(/no continuationContents/);
    expect(() => parseChatPage(page('x' as unknown as unknown[]), ctx)).toThrow(/not a list/);
  });

  it('reads invalidation, timed and reload continuations', () => {
    expect(continuationOf([{ invalidationContinuationData: { invalidationId: {}, timeoutMs: 10000, continuation: 'a' } }])).toEqual({ token: 'a', timeoutMs: 10000 });
    expect(continuationOf([{ reloadContinuationData: { continuation: 'b' } }])).toEqual({ token: 'b' });
    expect(continuationOf([{}])).toBeUndefined();
  });
});

describe('parseTarget', () => {
  it.each([
    ['dQw4w9WgXcQ', { kind: 'video', videoId: 'dQw4w9WgXcQ' }],
    ['https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3', { kind: 'video', videoId: 'dQw4w9WgXcQ' }],
    ['youtube.com/watch?v=dQw4w9WgXcQ', { kind: 'video', videoId: 'dQw4w9WgXcQ' }],
    ['https://youtu.be/dQw4w9WgXcQ', { kind: 'video', videoId: 'dQw4w9WgXcQ' }],
    ['https://www.youtube.com/live/dQw4w9WgXcQ?si=x', { kind: 'video', videoId: 'dQw4w9WgXcQ' }],
    ['@some.streamer', { kind: 'channel', path: '/@some.streamer/live', label: '@some.streamer' }],
    ['https://www.youtube.com/@some.streamer/live', { kind: 'channel', path: '/@some.streamer/live', label: '@some.streamer' }],
    ['UCabcdefghijklmnopqrstuv', { kind: 'channel', path: '/channel/UCabcdefghijklmnopqrstuv/live', label: 'UCabcdefghijklmnopqrstuv' }],
    ['https://www.youtube.com/channel/UCabcdefghijklmnopqrstuv', { kind: 'channel', path: '/channel/UCabcdefghijklmnopqrstuv/live', label: 'UCabcdefghijklmnopqrstuv' }],
  ])('%s', (input, target) => {
    expect(parseTarget(input)).toEqual(target);
  });

  it.each(['hello world', 'https://example.com/watch?v=dQw4w9WgXcQ', 'short', 'https://www.youtube.com/feed/trending'])('refuses %s', (input) => {
    expect(parseTarget(input)).toBeUndefined();
  });
});

describe('readWatchPage', () => {
  const renderer = {
    continuations: [{ reloadContinuationData: { continuation: 'top' } }],
    header: { liveChatHeaderRenderer: { viewSelector: { sortFilterSubMenuRenderer: { subMenuItems: [{ title: 'Top chat', selected: true, continuation: { reloadContinuationData: { continuation: 'top' } } }, { title: 'Live chat', continuation: { reloadContinuationData: { continuation: 'all' } } }] } } } },
  };
  const html = (data: unknown, player: unknown = { playabilityStatus: { status: 'OK' } }): string =>
    `<link rel="canonical" href="https://www.youtube.com/watch?v=abcdefghijk"><script>ytcfg.set({"INNERTUBE_CLIENT_VERSION":"2.20260101.00.00","VISITOR_DATA":"Cgv"});</script>` +
    `<script>var ytInitialPlayerResponse = ${JSON.stringify(player)};</script><script>var ytInitialData = ${JSON.stringify(data)};var x = 1;</script>`;

  it('finds the video, the client version and the "Live chat" continuation (not "Top chat")', () => {
    const p = readWatchPage(html({ contents: { twoColumnWatchNextResults: { conversationBar: { liveChatRenderer: renderer } } } }));
    expect(p).toEqual({ unreadable: false, videoId: 'abcdefghijk', clientVersion: '2.20260101.00.00', visitorData: 'Cgv', playability: { status: 'OK', reason: undefined }, chat: { continuation: 'all', isReplay: false } });
  });

  it('tells a replay, a video without chat and an unavailable one apart', () => {
    expect(readWatchPage(html({ a: { liveChatRenderer: { ...renderer, isReplay: true } } })).chat).toEqual({ continuation: 'all', isReplay: true });
    expect(readWatchPage(html({ contents: {} })).chat).toBeUndefined();
    expect(readWatchPage(html({}, { playabilityStatus: { status: 'ERROR', reason: 'Video unavailable' } })).playability).toEqual({ status: 'ERROR', reason: 'Video unavailable' });
    expect(readWatchPage('<html>rate limited</html>').unreadable).toBe(true);
  });

  it('cuts the JSON at its closing brace even with braces and quotes inside strings', () => {
    expect(jsonAfter('<script>window["ytInitialData"] = {"a":"}{\\"","b":{"c":[1]}};</script>', 'ytInitialData')).toEqual({ a: '}{"', b: { c: [1] } });
    expect(jsonAfter('var ytInitialData = {"a":', 'ytInitialData')).toBeUndefined();
  });
});
