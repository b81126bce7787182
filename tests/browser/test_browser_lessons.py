"""Guided lessons in chromium: every scene of every lesson plays with all its numbers filled from
the trace and all its highlights found; presenter keys and the scene permalink (issue 16)."""

from __future__ import annotations

import json

import pytest

from browser_helpers import cursor, wait_until
from unrolled.server.export_lessons import lesson_names, load_lesson

LESSONS = lesson_names()


def wait_scene(page, k: int) -> list[str]:
    """Wait until scene k (1-based) is drawn; its problems (placeholders unfilled, highlights not found)."""
    page.wait_for_selector(f'body[data-lesson-ready="{k}"]', timeout=60_000)
    return json.loads(page.get_attribute("body", "data-lesson-problems"))


def test_seven_lessons_are_shipped() -> None:
    assert len(LESSONS) >= 7
    assert LESSONS[:7] == ["unfolding", "bptt", "scalar", "vanishing", "gates", "architectures", "patterns"]


@pytest.mark.parametrize("name", LESSONS)
def test_every_scene_plays(page, live_server, screenshots_dir, name: str) -> None:
    lesson = load_lesson(name)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{live_server}/?lesson={name}")
    count = len(lesson["scenes"])
    for k, scene in enumerate(lesson["scenes"], start=1):
        problems = wait_scene(page, k)
        assert problems == [], f"{name} scene {k}: {problems}"
        text = page.text_content('[data-testid="lesson-text"]')
        assert "{" not in text and "⟨?⟩" not in text and "undefined" not in text, text
        assert page.text_content('[data-testid="lesson-counter"]') == f"Scene {k} / {count}"
        assert page.text_content(".lesson-title") == scene["title"]
        marked = page.query_selector_all("[data-lesson-mark]")
        assert len(marked) >= len(scene.get("highlight", [])), f"{name} scene {k}: highlights missing"
        if k == 1:
            assert text.startswith("Lecture: ") and " ".join(lesson["lecture"].split()[:3]) in text, "names its lecture"
        page.screenshot(path=str(screenshots_dir / f"lesson-{name}-{k}.png"))
        if k < count:
            page.keyboard.press("ArrowRight")
    assert f"scene={count}" in page.url and f"lesson={name}" in page.url


def test_permalink_opens_the_scene_and_keys_move(page, live_server) -> None:
    page.goto(f"{live_server}/?lesson=bptt&scene=4")
    assert wait_scene(page, 4) == []
    assert page.text_content('[data-testid="lesson-counter"]') == "Scene 4 / 7"
    seq = cursor(page)
    page.keyboard.press("Shift+ArrowLeft")   # Shift: a step inside the scene, not another scene
    wait_until(page, f"Number(document.body.dataset.cursor) === {seq - 1}")
    assert page.get_attribute("body", "data-lesson-ready") == "4"
    page.keyboard.press("ArrowLeft")
    assert wait_scene(page, 3) == []
    assert "scene=3" in page.url
    page.click('[data-testid="lesson-next"]')
    assert wait_scene(page, 4) == []
