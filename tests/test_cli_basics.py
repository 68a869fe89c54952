from provisioner import __version__
from tests.helpers import run_cli


def test_version_is_printed() -> None:
    out = run_cli("--version")
    assert out.returncode == 0, out.stderr
    assert __version__ in out.stdout


def test_no_command_shows_help_and_succeeds() -> None:
    out = run_cli()
    assert out.returncode == 0
    assert "Usage: telephony" in out.stdout
    assert "Error" not in out.stdout + out.stderr


def test_a_mistyped_command_is_one_error_line_and_exit_1() -> None:
    # Exit 2 means "changes" or "drift" to CI jobs; a typo must never read as either.
    out = run_cli("plna")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "Error: No such command 'plna'. Did you mean 'plan'? (see `telephony --help`)"
    ]


def test_a_mistyped_emulator_subcommand_exits_1() -> None:
    out = run_cli("emulator", "sevre")
    assert out.returncode == 1
    assert "Did you mean 'serve'?" in out.stderr
