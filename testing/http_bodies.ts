/**
 * Response bodies for HTTP-heavy traces (`GenerateOptions.http`): text that
 * reads like real pages, API data, scripts and style sheets, up to
 * megabytes; random pixels for images; and the gzip encodings of the
 * text's prefixes, made with zlib. A body is a view into these buffers,
 * never a copy, so a trace full of megabyte bodies costs about what its
 * headers cost to build.
 *
 * Everything is made once, the first time it is asked for: a text buffer
 * is rebuilt only when a longer body is wanted (its prefix stays the same),
 * and each gzip encoding is kept. Words are drawn from a vocabulary by a
 * fixed-seed stream of this module's own, not the trace's: like the fixed
 * text of the default bodies, the material is the same for every seed, and
 * the trace's seed picks sizes and kinds. Drawn words make text compress
 * about as well as real text does (3–5:1), where a repeated line would
 * compress 50:1 and leave the inflater little to do.
 *
 * @module
 */

import { gzipSync } from "node:zlib";

/** The kinds of body, as requests ask for them (`app_payloads.ts` picks them). */
export const KIND_HTML = 0;
export const KIND_JSON = 1;
export const KIND_PNG = 2;
export const KIND_JS = 3;
export const KIND_CSS = 4;

/** Bodies below this size are gzipped at exactly their size; larger ones at a size of a ladder. */
const GZIP_EXACT_BELOW = 512;
/** Steps of the gzip size ladder per doubling: a body is encoded at the ladder size at or below it. */
const GZIP_STEPS_PER_OCTAVE = 4;
/** Text and pixels are first made this long, then doubled as needed. */
const INITIAL_LENGTH = 64 * 1024;

const WORDS = (
  "the of and to in is you that it he was for on are as with his they at be this have from " +
  "or one had by word but not what all were we when your can said there use an each which " +
  "she do how their if will up other about out many then them these so some her would make " +
  "like him into time has look two more write go see number no way could people my than " +
  "first water been call who oil its now find long down day did get come made may part " +
  "over new sound take only little work know place year live me back give most very after " +
  "thing our just name good sentence man think say great where help through much before " +
  "line right too mean old any same tell boy follow came want show also around form three " +
  "small set put end does another well large must big even such because turn here why ask " +
  "went men read need land different home us move try kind hand picture again change off " +
  "play spell air away animal house point page letter mother answer found study still learn " +
  "should america world high every near add food between own below country plant last school " +
  "father keep tree never start city earth eye light thought head under story saw left few " +
  "while along might close something seem next hard open example begin life always those " +
  "both paper together got group often run important until children side feet car mile night"
).split(" ");

/** mulberry32, as the generator's, with a fixed seed per use. */
class FixedStream {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  word(): string {
    return WORDS[this.int(WORDS.length)]!;
  }

  words(min: number, max: number): string {
    const n = min + this.int(max - min + 1);
    let s = this.word();
    for (let i = 1; i < n; i++) s += " " + this.word();
    return s;
  }
}

/** What each text kind starts with (the default bodies' openings, so MIME sniffing sees the same) and repeats. */
const TEXTS: readonly (readonly [string, (s: FixedStream, i: number) => string] | null)[] = [
  [
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Example shop</title>' +
    '<link rel="stylesheet" href="/static/css/site.css"></head>\n<body>\n',
    (s, i) =>
      `<article class="post" id="post-${i}"><h2><a href="/news/article-${s.int(100000)}.html">` +
      `${s.words(2, 6)}</a></h2><p>${s.words(12, 60)}.</p></article>\n`,
  ],
  [
    '{"items":[',
    (s, i) =>
      `{"id":${i},"name":"${s.words(1, 3)}","price":${s.int(1000)}.${10 + s.int(90)},` +
      `"stock":${s.int(500)},"tags":["${s.word()}","${s.word()}"],` +
      `"description":"${s.words(6, 30)}"},`,
  ],
  null,
  [
    '(function(){"use strict";',
    (s, i) => {
      const name = s.word();
      const field = s.word();
      return `function ${name}_${i}(a,b){var ${s.word()}List=a.filter(function(x){return x.` +
        `${field}>${s.int(1000)};});if(!b){throw new Error("${s.words(3, 8)}");}` +
        `return a.length?"${s.words(2, 6)}":b.${field};}\n`;
    },
  ],
  [
    "",
    (s, i) =>
      `.${s.word()}-${s.word()}-${i}{margin:${s.int(40)}px ${s.int(40)}px;padding:${s.int(20)}px;` +
      `color:#${s.int(0x1000000).toString(16).padStart(6, "0")};font-size:${8 + s.int(24)}px}\n`,
  ],
];

const texts: (Uint8Array | undefined)[] = [];
let pixels: Uint8Array | undefined;
const gzipped = new Map<number, Uint8Array>();

function lengthFor(size: number, have: number): number {
  let n = Math.max(have * 2, INITIAL_LENGTH);
  while (n < size) n *= 2;
  return n;
}

/** The first `size` bytes of the text of `kind` (HTML, JSON, JS or CSS), a view of a shared buffer. */
export function textBody(kind: number, size: number): Uint8Array {
  const have = texts[kind];
  if (have !== undefined && have.length >= size) return have.subarray(0, size);
  const text = TEXTS[kind];
  if (text === null || text === undefined) {
    throw new RangeError(`Cannot make a text body of kind ${kind}: use HTML, JSON, JS or CSS`);
  }
  const [head, item] = text;
  const length = lengthFor(size, have?.length ?? 0);
  const stream = new FixedStream(0x7e47 + kind);
  const parts = [head];
  let made = head.length;
  for (let i = 1; made < length; i++) {
    const s = item(stream, i);
    parts.push(s);
    made += s.length;
  }
  const bytes = new TextEncoder().encode(parts.join("")).subarray(0, length);
  texts[kind] = bytes;
  return bytes.subarray(0, size);
}

/** `size` random bytes (an image's compressed pixels), a view of a shared buffer. */
export function pixelBytes(size: number): Uint8Array {
  if (pixels === undefined || pixels.length < size) {
    const out = new Uint8Array(lengthFor(size, pixels?.length ?? 0));
    const stream = new FixedStream(0x9e3779b9);
    for (let i = 0; i < out.length; i += 4) {
      const v = stream.u32();
      out[i] = v;
      out[i + 1] = v >>> 8;
      out[i + 2] = v >>> 16;
      out[i + 3] = v >>> 24;
    }
    pixels = out;
  }
  return pixels.subarray(0, size);
}

/**
 * The size at which a body of `size` bytes is gzipped: itself when small,
 * else the step of a ladder (`GZIP_STEPS_PER_OCTAVE` per doubling) at or
 * below it, so a trace's thousands of gzip responses share a few hundred
 * encodings.
 */
export function gzipDecodedSize(size: number): number {
  if (size < GZIP_EXACT_BELOW) return size;
  const step = Math.floor(Math.log2(size / GZIP_EXACT_BELOW) * GZIP_STEPS_PER_OCTAVE);
  const ladder = Math.round(GZIP_EXACT_BELOW * 2 ** (step / GZIP_STEPS_PER_OCTAVE));
  return ladder <= size ? ladder : size;
}

/**
 * A gzip member holding the first `gzipDecodedSize(size)` bytes of the
 * text of `kind`, made with zlib once and shared.
 */
export function gzipBody(kind: number, size: number): Uint8Array {
  const decoded = gzipDecodedSize(size);
  const key = decoded * 8 + kind;
  let out = gzipped.get(key);
  if (out === undefined) {
    out = new Uint8Array(gzipSync(textBody(kind, decoded)));
    gzipped.set(key, out);
  }
  return out;
}
