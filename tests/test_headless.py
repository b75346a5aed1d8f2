"""repalign_edu._headless: interact runs once with ipywidgets' own defaults, no front end needed."""
import ipywidgets
import pytest

from repalign_edu import _headless


def f(a, b=2.0, kind="x", flag=False, c=7):
    return a, b, kind, flag, c


def test_default_values_follow_ipywidgets():
    values = _headless.default_values(f, dict(a=(0.0, 1.0, 0.1), b=(0.0, 4.0), kind=["y", "z"], flag=True,
                                              c=ipywidgets.fixed(3)))
    assert values["a"] == pytest.approx(0.5)                 # a slider starts at the middle of its range
    assert values["b"] == 2.0                                 # ... unless the function has a default in range
    assert values["kind"] == "y" and values["flag"] is True and values["c"] == 3
    slider = ipywidgets.FloatLogSlider(value=10.0, base=10, min=-1, max=3)
    assert _headless.default_values(f, dict(a=slider, c=ipywidgets.fixed(1)))["a"] == pytest.approx(10.0)


def test_interact_calls_once_and_supports_the_decorator_form():
    calls = []

    def g(x=1, y=5):
        calls.append((x, y))

    _headless.interact(g, x=(0, 10), y=ipywidgets.fixed(2))
    _headless.interact(x=(0, 10), y=ipywidgets.fixed(3))(g)
    assert calls == [(1, 2), (1, 3)]


def test_bad_abbreviation_still_fails():
    with pytest.raises((ValueError, TypeError)):
        _headless.default_values(f, dict(a=object()))


def test_install_patches_every_import_path_and_the_startup_file(tmp_path, monkeypatch):
    import ipywidgets.widgets.interaction as interaction
    for module in (ipywidgets, ipywidgets.widgets, interaction):
        monkeypatch.setattr(module, "interact", module.interact)
    _headless.install()
    assert ipywidgets.interact is _headless.interact
    assert ipywidgets.widgets.interaction.interact is _headless.interact
    path = _headless.write_startup(tmp_path)
    assert path.parent == tmp_path / "profile_default" / "startup"
    assert "install()" in path.read_text()
    assert _headless.main([]) == 2 and _headless.main([str(tmp_path / "x")]) == 0
