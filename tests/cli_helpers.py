"""Running the ``chainrule`` command in-process in tests, and the one-line error every failure must be."""

from chainrule.cli import main


def run_cli(capsys, *argv):
    """(exit status, stdout, stderr) of ``chainrule *argv``."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err, *fragments):
    """``err`` is one ``chainrule: error:`` line, without a traceback, containing every fragment."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)
