// Lesson text: placeholders are expressions over the trace's scope, filled, never typed.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

import { parse, evaluate, fillText, placeholders, formatValue } from '../../../static/js/lesson_text.js';
import { highlightTarget } from '../../../static/js/lesson_engine.js';

const scope = {
  dh: [0.5, -0.25, 2], norm: 3,
  bwd: { h_l0: [{ dh: [1, 2] }, { dh: [3, 4], norm: 5 }] },
  summary: { grad_norms: { 'head.weight': 0.125 }, gradient_norms: { h_l0: [1e-5, 0.01, 0.1] } },
  bad: [NaN, Infinity, -Infinity],
};

test('paths, indices (negative from the end), quoted keys', () => {
  assert.equal(evaluate(parse('dh[1]'), scope), -0.25);
  assert.equal(evaluate(parse('bwd.h_l0[1].dh[0]'), scope), 3);
  assert.equal(evaluate(parse('bwd.h_l0[-1].norm'), scope), 5);
  assert.equal(evaluate(parse("summary.grad_norms['head.weight']"), scope), 0.125);
  assert.equal(evaluate(parse('summary.gradient_norms.h_l0[2 - 1]'), scope), 0.01);
});

test('arithmetic with precedence, unary minus, powers and functions', () => {
  assert.equal(evaluate(parse('1 - dh[0]^2'), scope), 0.75);
  assert.equal(evaluate(parse('-2 * (norm + 1) / 4'), scope), -2);
  assert.equal(evaluate(parse('2^3^2'), scope), 512);
  assert.equal(evaluate(parse('max(dh) + min(dh) + len(dh) + sum(dh)'), scope), 2 - 0.25 + 3 + 2.25);
  assert.equal(evaluate(parse('norm(bwd.h_l0[1].dh)'), scope), 5);
  assert.equal(evaluate(parse('abs(dh[1]) * sqrt(4)'), scope), 0.5);
});

test('fillText formats numbers and vectors, with optional significant digits', () => {
  const out = fillText('a {dh[0]} b {norm:4} c {dh:2} d {summary.gradient_norms.h_l0[0]}', scope);
  assert.deepEqual(out.problems, []);
  assert.equal(out.text, 'a 0.5 b 3 c [0.5, −0.25, 2] d 1.00·10⁻⁵');
  assert.deepEqual(out.values.slice(0, 2), [0.5, 3]);
});

test('non-finite numbers are written out explicitly', () => {
  assert.equal(fillText('{bad[0]} {bad[1]} {bad[2]}', scope).text, 'NaN ∞ −∞');
});

test('a placeholder that cannot be filled is a problem, never a silent blank', () => {
  const out = fillText('x {nothing.here} y {dh[9]} z {dh[} w {foo(1)}', scope);
  assert.equal(out.text, 'x ⟨?⟩ y ⟨?⟩ z ⟨?⟩ w ⟨?⟩');
  assert.equal(out.problems.length, 4);
  assert.match(out.problems[0], /nothing/);
  assert.match(out.problems[1], /out of range/);
  assert.throws(() => formatValue({}), /not a number/);
});

test('every shipped lesson parses: its placeholders are expressions, its highlights have targets', () => {
  const dir = new URL('../../../static/lessons/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'index.json');
  assert.ok(files.length >= 7);
  for (const file of files) {
    const lesson = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    for (const [i, scene] of lesson.scenes.entries()) {
      for (const paragraph of scene.text) {
        for (const p of placeholders(paragraph)) assert.doesNotThrow(() => parse(p.expr), `${file} scene ${i + 1}: {${p.source}}`);
        assert.doesNotMatch(paragraph.replace(/\{[^{}]*\}/g, ''), /[{}]/, `${file} scene ${i + 1}: unbalanced braces`);
      }
      for (const mark of scene.highlight ?? []) assert.ok(highlightTarget(mark).selector, `${file} scene ${i + 1}`);
    }
    assert.match(lesson.scenes[0].text[0], /^Lecture: /, `${file}: the opening scene names its lecture`);
  }
});
