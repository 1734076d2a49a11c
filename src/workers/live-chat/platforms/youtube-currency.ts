/**
 * A Super Chat's `purchaseAmountText` ("$5.00", "NT$150", "CHF 5.00", "€5,00", "¥1,000") -> amount and
 * ISO currency. YouTube formats the amount for the viewer's locale (we ask for en-US), so the symbol
 * comes first in most cases; a code before or after the number ("CHF 5.00", "5.00 PLN") is read too.
 * An unknown symbol is kept as the currency (the display text goes along), never guessed.
 */

/** Symbols YouTube shows for the currencies Super Chat supports; longest first when matched. */
const SYMBOLS: Record<string, string> = {
  $: 'USD',
  US$: 'USD',
  '€': 'EUR',
  '£': 'GBP',
  '¥': 'JPY',
  '￥': 'JPY',
  'CN¥': 'CNY',
  '₩': 'KRW',
  NT$: 'TWD',
  HK$: 'HKD',
  A$: 'AUD',
  AU$: 'AUD',
  CA$: 'CAD',
  C$: 'CAD',
  NZ$: 'NZD',
  MX$: 'MXN',
  R$: 'BRL',
  '₹': 'INR',
  '₱': 'PHP',
  '₫': 'VND',
  '₺': 'TRY',
  '₽': 'RUB',
  '₪': 'ILS',
  '฿': 'THB',
  'zł': 'PLN',
  kr: 'SEK',
  Rp: 'IDR',
  RM: 'MYR',
  S$: 'SGD',
  R: 'ZAR',
  '₦': 'NGN',
  '₴': 'UAH',
  'Kč': 'CZK',
  Ft: 'HUF',
  'E£': 'EGP',
};
const SYMBOL_KEYS = Object.keys(SYMBOLS).sort((a, b) => b.length - a.length);

export interface PaidAmount {
  amount: number;
  currency: string;
}

export function parsePaidAmount(display: string): PaidAmount | undefined {
  const text = display.replace(/[\s\u00a0\u202f]+/g, ' ').trim();
  const match = /^(?<pre>[^\d\s]*)\s?(?<num>\d[\d.,\u2019' ]*\d|\d)\s?(?<post>[^\d\s]*)$/u.exec(text);
  if (!match?.groups) return undefined;
  const amount = parseNumber(match.groups.num!);
  if (amount === undefined) return undefined;
  const currency = currencyOf(match.groups.pre!) ?? currencyOf(match.groups.post!);
  if (!currency) return undefined;
  return { amount, currency };
}

function currencyOf(mark: string): string | undefined {
  if (!mark) return undefined;
  if (/^[A-Z]{3}$/.test(mark)) return mark;
  const known = SYMBOL_KEYS.find((k) => k === mark);
  return known ? SYMBOLS[known] : mark;
}

/**
 * "1,000" / "1.000,50" / "5,00" / "1'000.50" -> a number. The last separator is the decimal point when
 * one or two digits follow it; three digits after a lone separator group thousands ("¥1,000").
 */
function parseNumber(raw: string): number | undefined {
  const s = raw.replace(/[\u2019' ]/g, '');
  const last = Math.max(s.lastIndexOf('.'), s.lastIndexOf(','));
  let value: number;
  if (last < 0) value = Number(s);
  else {
    const decimals = s.length - last - 1;
    const intPart = s.slice(0, last).replace(/[.,]/g, '');
    value = decimals === 3 ? Number(intPart + s.slice(last + 1)) : Number(`${intPart}.${s.slice(last + 1)}`);
  }
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}
