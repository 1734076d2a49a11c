import { describe, expect, it } from 'vitest';
import { mixinKey, signWbi, wbiKeys } from './bilibili-wbi.js';

// The worked example of the public description of the algorithm.
const keys = { imgKey: '7cd084941338484aae1ad9425b84077c', subKey: '4932caff0ff746eab6f01bf08b70ac45' };

describe('bilibili WBI signature', () => {
  it('takes the keys from the file names of nav wbi_img', () => {
    const data = { isLogin: false, wbi_img: { img_url: `https://i0.hdslb.com/bfs/wbi/${keys.imgKey}.png`, sub_url: `https://i0.hdslb.com/bfs/wbi/${keys.subKey}.png` } };
    expect(wbiKeys(data)).toEqual(keys);
    expect(wbiKeys({ isLogin: false })).toBeUndefined();
  });

  it('reorders the keys into the documented mixin key', () => {
    expect(mixinKey(keys)).toBe('ea1db124af3c7062474693fa704f4ff8');
  });

  it('signs the documented example', () => {
    expect(signWbi({ foo: '114', bar: '514', zab: 1919810 }, keys, 1702204169)).toBe('bar=514&foo=114&wts=1702204169&zab=1919810&w_rid=8f6f2b5b3d485fe1886cec6a0be8c5d4');
  });

  it('encodes with upper-case hex and %20, after dropping !\'()*', () => {
    expect(signWbi({ foo: 'one one four', bar: '五一四', q: "(a)!*'" }, keys, 1)).toMatch(/^bar=%E4%BA%94%E4%B8%80%E5%9B%9B&foo=one%20one%20four&q=a&wts=1&w_rid=[0-9a-f]{32}$/);
  });
});
