"""The dashboard starts and its home page renders without an exception."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app" / "main.py"


def test_home_page_renders():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "SNN redundancy dashboard"
    assert any("python -m models.train" in m.value for m in at.markdown)
