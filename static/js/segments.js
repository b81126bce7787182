// An encoder–decoder run lies on one time axis: meta.segments = [{name: "encoder", start: 0, stop},
// {name: "decoder", start, stop}]. These helpers answer "whose step is t?" for every drawing module;
// for any other run they say "nobody's" (null).

import { scheduleOf, segmentAt } from './schedule.js';

/** "encoder" or "decoder" for step t of an encoder–decoder run, else null. */
export function halfAt(meta, t) {
  return meta?.segments ? segmentAt(scheduleOf(meta), t) : null;
}

/** The decoder's first step (its recurrent edge is the context), or null for other runs. */
export function contextStep(meta) {
  return meta?.segments?.[1]?.start ?? null;
}

/** The mark on a weight used at step t: ᴱ (encoder), ᴰ (decoder) or nothing. */
export function weightMark(meta, t) {
  return { encoder: 'ᴱ', decoder: 'ᴰ' }[halfAt(meta, t)] ?? '';
}
