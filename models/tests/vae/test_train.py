import torch

from netbend_models.vae import train


def test_epoch_writes_checkpoint_and_resume_continues(tmp_path):
    args = ["--runs", str(tmp_path), "--name", "t", "--synthetic", "8", "--batch", "4", "--width", "0.0625"]
    train.main(args + ["--epochs", "1"])
    first = torch.load(tmp_path / "t" / "last.pt", weights_only=False)
    assert first["epoch"] == 1 and first["step"] == 2
    assert len(first["optimizer"]["state"]) > 0
    train.main(args + ["--epochs", "2", "--resume"])
    second = torch.load(tmp_path / "t" / "last.pt", weights_only=False)
    assert second["epoch"] == 2 and second["step"] == 4
    # Adam's step count continued from the restored state rather than restarting at 0
    steps = [float(s["step"]) for s in second["optimizer"]["state"].values()]
    assert all(s == 4 for s in steps)


def test_validation_history_and_best_checkpoint(tmp_path):
    args = ["--runs", str(tmp_path), "--name", "v", "--synthetic", "8", "--batch", "4", "--width", "0.0625",
            "--epochs", "2"]
    train.main(args)
    last = torch.load(tmp_path / "v" / "last.pt", weights_only=False)
    best = torch.load(tmp_path / "v" / "best.pt", weights_only=False)
    assert [h["epoch"] for h in last["history"]] == [1, 2]
    best_epoch = min(last["history"], key=lambda h: h["validation_loss"])["epoch"]
    assert best["epoch"] == best_epoch


def test_dataset_folder_without_ready_is_rejected(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="no READY file"):
        train.main(["--runs", str(tmp_path), "--data", str(tmp_path), "--epochs", "1"])
