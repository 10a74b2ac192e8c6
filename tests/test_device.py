"""Device choice and CPU threading set-up."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from inference_server.device import choose_device, set_cpu_threads
from inference_server.errors import DeviceUnavailableError


def test_auto_takes_the_cpu_when_there_is_no_gpu_and_says_so(caplog):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: auto takes it")
    device = choose_device("auto")
    assert (device.kind, device.torch_device.type) == ("cpu", "cpu")
    assert device.name
    assert "no CUDA GPU found" in caplog.text


def test_cuda_without_a_gpu_is_an_error_naming_the_way_out():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(DeviceUnavailableError, match="start with --device cpu"):
        choose_device("cuda")
    with pytest.raises(DeviceUnavailableError, match="use one of: auto, cuda, cpu"):
        choose_device("tpu")


def test_set_cpu_threads_rejects_negatives():
    with pytest.raises(DeviceUnavailableError, match="--threads must be 0"):
        set_cpu_threads(-1)


@pytest.mark.parametrize("preset, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_openmp_waits_passively_unless_the_user_chose(preset, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    shown = subprocess.run([sys.executable, "-c", "import inference_server, os; print(os.environ['OMP_WAIT_POLICY'])"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert shown == expected
