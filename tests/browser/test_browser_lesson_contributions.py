"""Lesson 2 (bptt): the per-step contributions bar chart fills in as the scenes step backward through
time — a step's term of ∂L/∂V appears with ∂L/∂o(t), its term of ∂L/∂U with ∂L/∂h(t) — and goes again
when the presenter steps back before it (issue 16)."""

from __future__ import annotations

import json

from browser_helpers import wait_until
from test_browser_lessons import wait_scene

# weight (lecture name) → the steps t whose bar is non-zero, over the 6 bar traces (one per step)
FILLED = """() => {
  const out = {};
  for (const d of (document.getElementById('plot-contributions').data || []).filter((d) => d.type === 'bar')) {
    d.y.forEach((name, i) => {
      out[name] = out[name] || [];
      if (Number.isFinite(d.x[i]) && d.x[i] > 0) out[name].push(Number(d.name.slice(2)));
    });
  }
  return out;
}"""
ALL = list(range(6))
# scene (1-based) → the steps shown for V (head) and U (input weights): scene 2 is ∂L/∂o(5), scene 3
# ∂L/∂h(5) (every ∂L/∂o is known by then), scene 4 ∂L/∂h(4), scene 5 ∂L/∂h(0), scene 6 the end
EXPECTED = {2: ([5], []), 3: (ALL, [5]), 4: (ALL, [4, 5]), 5: (ALL, ALL), 6: (ALL, ALL)}


def shown(page, v: list[int], u: list[int]) -> None:
    """Wait until V's bars are at steps `v` and U's at steps `u`."""
    want = json.dumps({"V": v, "U": u}, separators=(",", ":"))
    wait_until(page, f"(() => {{ const f = ({FILLED})(); return JSON.stringify({{V: f.V || [], U: f.U || []}}) === '{want}'; }})()")


def test_bptt_contributions_fill_in_as_the_scenes_step_backward(page, live_server, screenshots_dir) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{live_server}/?lesson=bptt&scene=1")
    assert wait_scene(page, 1) == []
    for scene, (v, u) in EXPECTED.items():
        page.keyboard.press("ArrowRight")
        assert wait_scene(page, scene) == []
        shown(page, v, u)
        page.click('[data-testid="tab-plots"]')                   # the plots live in their own tab
        page.locator("#plot-contributions").screenshot(path=str(screenshots_dir / f"lesson-bptt-contributions-{scene}.png"))
    filled = page.evaluate(FILLED)
    assert filled["W"] == [1, 2, 3, 4, 5], filled       # h(−1) = 0: W's step-0 term ∂L/∂z₀ h(−1)ᵀ is zero
    for scene in (5, 4, 3):                          # the presenter steps back: the early steps' terms go again
        page.keyboard.press("ArrowLeft")
        assert wait_scene(page, scene) == []
        shown(page, *EXPECTED[scene])
