"""User text is shown, never run; the page works under the app's Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from browser_helpers import wait_done

PAYLOAD = "<script>window.__xss=1</script><img/src=x/onerror=window.__xss=2>"
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def test_markup_in_a_char_lm_text_shows_literally_and_never_runs(page, live_server):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    query = {"preset": "char-lm", "text": PAYLOAD, "seq_len": len(PAYLOAD), "hidden_size": 8,
             "batch_size": 1, "delay": 0}
    page.goto(f"{live_server}/?{urlencode(query)}")
    page.wait_for_selector('[data-testid="graph"] .node.kind-x')
    wait_done(page)
    labels = page.evaluate("""() => [...document.querySelectorAll('[data-testid="graph"] .node.kind-x')]
        .map((g) => [Number(g.dataset.t), g.querySelector('text').textContent])""")
    assert labels, "no input nodes drawn"
    for t, text in labels:  # each input node shows its character of the text, as text
        assert text == PAYLOAD[t], (t, text)
    assert {"<", ">", "/"} <= {text for _, text in labels}
    assert page.evaluate("() => window.__xss") is None
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    inline_scripts = page.evaluate(
        "() => [...document.scripts].filter((s) => !s.src && s.type !== 'application/json').length")
    assert inline_scripts == 0
    assert not [u for u in requested if u.rstrip("/").endswith("/x")]
    assert page.evaluate("() => window.__cspViolations") == []


def test_the_page_runs_under_its_csp_without_a_single_violation(page, live_server):
    headers = httpx.get(f"{live_server}/").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.goto(f"{live_server}/?preset=lstm-memory&delay=0")
    wait_done(page)
    page.wait_for_selector(".js-plotly-plot .main-svg")  # plotly drew under the policy
    assert page.evaluate("() => window.__cspViolations") == []
    # the page guard (conftest) also fails this test on any console error, which is where
    # Chromium reports a blocked inline style, script or connection
