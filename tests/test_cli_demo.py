"""The demo runs end to end and saves its plot; CLI mistakes are one line and a non-zero exit."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minembed import cli

REPO = Path(__file__).resolve().parent.parent


def test_quick_demo_runs_and_writes_its_plot(tmp_path):
    out = tmp_path / "demo-out"
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "minembed", "demo", "--quick", "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "held-out accuracy" in proc.stdout
    plot = out / "classifier_loss.png"
    assert plot.exists() and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(out.resolve()) in proc.stdout  # says where the plots are
    accuracy = float(proc.stdout.split("held-out accuracy ")[1].split("%")[0])
    assert accuracy > 50.0  # four sources, chance is about 25-30%
    # Every stage that trains shows a progress bar (tqdm writes to stderr, also when it is not a terminal).
    for bar in ("classifier epoch 1:", "word2vec:", "[similarity] t-SNE:", "MLM epoch 1:", "TinyCNN epoch 1:",
                "ViT epoch 1:"):
        assert re.search(re.escape(bar) + r" +[1-9]\d*%\|", proc.stderr), f"no progress bar {bar!r} in stderr"
    check_bert_part(proc.stdout, out)


def check_bert_part(stdout: str, out: Path) -> None:
    """What the tokenizer + tiny-BERT part prints and saves, checked from its own words."""
    # The split shown: its pieces put back together are the sentence, and there are as many as it says.
    split = re.search(r"^  '(.+)' -> (\d+) tokens: (.+)$", stdout, re.M)
    assert split, "no tokenized sentence in the output"
    sentence, n_tokens, pieces = split.group(1), int(split.group(2)), split.group(3).split("|")
    assert "".join(pieces) == sentence and len(pieces) == n_tokens
    assert len(pieces) < len(sentence)  # merges were learned: fewer tokens than characters
    assert "decode(encode(text)) == text: True" in stdout
    # Held-out masked-token accuracy beats always answering the most frequent token (quick: ~6% vs ~3.4%).
    acc = re.search(r"held-out masked-token accuracy ([\d.]+)% vs ([\d.]+)% for always answering", stdout)
    assert acc, "no masked-token accuracy in the output"
    accuracy, baseline = float(acc.group(1)), float(acc.group(2))
    assert 1.0 < baseline < 10.0  # the commonest token (" the") is a few percent of the tokens
    assert accuracy > baseline + 1.0
    same = re.search(r"same source for (\d+)% \(the same network untrained: (\d+)%; chance: (\d+)%\)", stdout)
    assert same and all(0 <= int(v) <= 100 for v in same.groups())
    plot = out / "bert_mlm.png"
    assert plot.exists() and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"saved to {plot}" in stdout


def test_user_errors_are_one_line_and_exit_non_zero(capsys, monkeypatch):
    def fail(args):
        raise FileNotFoundError("no corpus at 'missing.txt'")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["demo"].set_defaults(func=fail)
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err == "minembed demo: error: no corpus at 'missing.txt'\n"


def test_key_errors_lose_their_quotes(capsys, monkeypatch):
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["demo"].set_defaults(
        func=lambda a: (_ for _ in ()).throw(KeyError("word 'xyzzy' is not in the vocabulary")))
    assert cli.main(["demo"]) == 1
    assert capsys.readouterr().err.strip() == "minembed demo: error: word 'xyzzy' is not in the vocabulary"


def test_no_command_prints_help_and_bad_option_exits(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--no-such-flag"])
    assert exc.value.code == 2
