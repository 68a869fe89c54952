import sys
from pathlib import Path

import pytest

from provisioner import __version__
from tests.helpers import run_cli


@pytest.mark.slow  # a CLI process or a 150-number apply
def test_version_is_printed() -> None:
    out = run_cli("--version")
    assert out.returncode == 0, out.stderr
    assert __version__ in out.stdout


@pytest.mark.slow  # a CLI process or a 150-number apply
def test_no_command_shows_help_and_succeeds() -> None:
    out = run_cli()
    assert out.returncode == 0
    assert "Usage: telephony" in out.stdout
    assert "Error" not in out.stdout + out.stderr


@pytest.mark.slow  # a CLI process or a 150-number apply
def test_a_mistyped_command_is_one_error_line_and_exit_1() -> None:
    # Exit 2 means "changes" or "drift" to CI jobs; a typo must never read as either.
    out = run_cli("plna")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "Error: No such command 'plna'. Did you mean 'plan'? (see `telephony --help`)"
    ]


@pytest.mark.slow  # a CLI process or a 150-number apply
def test_a_mistyped_emulator_subcommand_exits_1() -> None:
    out = run_cli("emulator", "sevre")
    assert out.returncode == 1
    assert "Did you mean 'serve'?" in out.stderr


def test_an_unexpected_exception_is_one_internal_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from provisioner import cli, library

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    (tmp_path / "telephony.yaml").write_text("version: 1\n")
    monkeypatch.chdir(tmp_path)
    for command, target in (["plan", "--sandbox"], "plan"), (["validate"], "validate"):
        monkeypatch.setattr(library, target, boom)
        monkeypatch.setattr(sys, "argv", ["telephony", *command])
        with pytest.raises(SystemExit) as exited:
            cli.main()
        err = capsys.readouterr().err
        assert exited.value.code == 1
        assert err.splitlines() == ["Error: internal error (RuntimeError): boom (run with -v for the traceback)"]
        assert "Traceback" not in err


def test_every_error_the_tool_raises_derives_from_one_base() -> None:
    import inspect

    import provisioner
    from provisioner.errors import TelephonyError

    found = []
    for path in Path(provisioner.__file__).parent.rglob("*.py"):
        if "emulator" in path.parts:
            continue  # the emulator reports HTTP errors, not CLI ones
        module = "provisioner." + ".".join(path.relative_to(Path(provisioner.__file__).parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        loaded = __import__(module, fromlist=["_"])
        for name, value in vars(loaded).items():
            mine = inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == module
            if mine and not name.startswith("_") and name not in ("Exit", "UsageFailure"):
                found.append(value)
    assert found and [c.__name__ for c in found if not issubclass(c, TelephonyError)] == []
