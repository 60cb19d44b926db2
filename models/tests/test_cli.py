"""User mistakes end a `python -m netbend_models...` tool with one `error: ...` line and status 2
(cli.run_tool), not a traceback; bugs keep theirs. Through a real process for the StyleGAN2
exporter: an --out that exists, a file that is not a checkpoint, an untrusted training checkpoint."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from netbend_models.cli import run_tool

MODELS = Path(__file__).resolve().parents[1]
TINY = ["--random-init", "--size", "8", "--width", "0.03125", "--style-dim", "8"]


def test_a_user_mistake_is_one_line_and_status_2(capsys):
    def main(argv):
        raise FileExistsError(f"{argv[0]} exists; pass force=True (--force) to replace it")

    with pytest.raises(SystemExit) as exit_:
        run_tool(main, ["out/"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "error: out/ exists; pass force=True (--force) to replace it\n"

    def multi_line(argv):
        raise ValueError("x.pt: Error(s) in loading state_dict:\n\tMissing key(s): a")

    with pytest.raises(SystemExit):
        run_tool(multi_line)
    assert capsys.readouterr().err == "error: x.pt: Error(s) in loading state_dict: Missing key(s): a\n"


def test_status_and_bugs_pass_through(monkeypatch):
    with pytest.raises(SystemExit) as exit_:
        run_tool(lambda argv: None)
    assert exit_.value.code is None  # status 0
    with pytest.raises(SystemExit) as exit_:
        run_tool(lambda argv: 1)
    assert exit_.value.code == 1

    def bug(argv):
        raise KeyError("layers")

    with pytest.raises(KeyError):
        run_tool(bug)
    monkeypatch.setenv("NETBEND_TRACEBACK", "1")
    with pytest.raises(FileNotFoundError):
        run_tool(lambda argv: open("/nonexistent/netbend"))


def exporter(*args, cwd=MODELS):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("NETBEND_TRACEBACK", None)
    return subprocess.run([sys.executable, "-m", "netbend_models.export.stylegan2", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def assert_one_line_error(result, names):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert str(names) in lines[0]
    return lines[0]


def test_stylegan2_exporter_refuses_an_existing_out(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    line = assert_one_line_error(exporter(*TINY, "--out", out), out)
    assert "--force" in line
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("case", ["not-a-checkpoint", "untrusted"])
def test_stylegan2_exporter_names_a_checkpoint_it_cannot_load(tmp_path, case):
    checkpoint = tmp_path / "G.pt"
    if case == "not-a-checkpoint":
        checkpoint.write_text("these are not weights\n")
    else:  # rosinality's train.py pickles its argparse Namespace: refused without --trust-checkpoint
        torch.save({"g_ema": {}, "args": argparse.Namespace(lr_mlp=0.01)}, checkpoint)
    line = assert_one_line_error(exporter("--checkpoint", checkpoint, "--out", tmp_path / "model"), checkpoint)
    if case == "untrusted":
        assert "--trust-checkpoint" in line
    assert not (tmp_path / "model").exists()


def test_the_tools_report_user_mistakes_through_run_tool():
    """Every module with a command-line entry point ends with run_tool(main)."""
    package = MODELS / "netbend_models"
    entry = '\nif __name__ == "__main__":\n'
    tools = [path for path in package.rglob("*.py") if entry in path.read_text()]
    assert len(tools) >= 14
    for path in tools:
        rest = path.read_text().split(entry, 1)[1]
        assert rest.strip() == "run_tool(main)", f"{path.relative_to(MODELS)}: {rest.strip()!r}"
