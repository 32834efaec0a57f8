"""Two CPU processes under `accelerate launch`: Stage 1 and Stage 2 run data-parallel and write one folder.

On a CPU-only machine ``accelerate launch --cpu --num_processes 2`` starts a single process (its
multi-CPU path needs MPI); ``--multi_gpu --num_processes 2`` starts two torchrun workers, which the
trainer (``use_cpu`` on a machine without CUDA) joins over gloo.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.manifest import Manifest

LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
          "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "models.train"]
COMMON = ["--threads", "1", "--eval-n", "0", "--logging-steps", "1", "--no-progress", "--no-gradient-checkpointing"]


def _run(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_DISABLED": "true", "OMP_NUM_THREADS": "1",
           "MASTER_PORT": str(29500 + os.getpid() % 1000)}
    done = subprocess.run(LAUNCH + args + COMMON, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.slow
def test_two_process_sft_and_grpo(tiny_base: Path, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    sft_out, imad_out = tmp_path / "sft", tmp_path / "imad"
    log = _run(["sft", "--parent", str(tiny_base), "--out", str(sft_out), "--n", "8", "--max-steps", "3",
                "--batch-size", "2", "--grad-accum", "1", "--lr", "1e-2", "--max-length", "1024", "--lora-r", "8",
                "--lora-alpha", "16", "--save-steps", "2"], root)
    # 8 rows, 2 per process per step: one epoch is 2 steps when the data is split over 2 processes
    assert "'epoch': '0.5'" in log
    m = Manifest.load(sft_out)
    assert m is not None and m.metrics["steps"] == 3
    log = _run(["grpo", "--parent", str(sft_out), "--out", str(imad_out), "--n-prompts", "8", "--iterations", "2",
                "--max-steps", "2", "--num-generations", "4", "--batch-size", "4", "--grad-accum", "1",
                "--clip-start", "16", "--lr", "1e-2", "--beta", "0", "--lora-r", "4", "--lora-alpha", "8",
                "--save-steps", "1"], root)
    m = Manifest.load(imad_out)
    assert m is not None and [i["steps"] for i in m.metrics["iterations"]] == [2, 2]
    assert not list(tmp_path.glob("*.work")) and not list(tmp_path.glob(".*tmp*"))
