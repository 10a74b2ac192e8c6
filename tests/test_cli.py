"""The `semantic-edit remove` command on files, in-process and through a server."""
from __future__ import annotations

import errno

import numpy as np
import pytest
from PIL import Image

from inference_server import file_commands
from inference_server.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main
from inference_server.pipeline.masks import dilate
from synthetic_images import disc_scene

FAST = ["--quality", "fast", "--iterations", "3", "--dilate", "2"]


@pytest.fixture
def files(tmp_path):
    image, mask, _ = disc_scene(48, radius=8)
    Image.fromarray(image).save(tmp_path / "photo.png")
    Image.fromarray(image).save(tmp_path / "photo.tif")
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(tmp_path / "mask.png")
    return tmp_path, image, mask


@pytest.mark.parametrize("source, output", [("photo.png", "out.png"), ("photo.tif", "out.tiff")])
def test_remove_writes_the_edited_image(files, source, output):
    folder, image, mask = files
    assert main(["remove", str(folder / source), "--mask", str(folder / "mask.png"), "-o", str(folder / output),
                 "--save-masks", str(folder / "masks"), *FAST]) == EXIT_OK
    edited = np.asarray(Image.open(folder / output))
    hole = dilate(mask, 2)
    assert np.array_equal(edited[~hole], image[~hole])
    assert not np.array_equal(edited[mask], image[mask])
    saved_hole = np.asarray(Image.open(folder / "masks" / "hole-mask.png"))
    assert np.array_equal(saved_hole == 255, hole)
    assert np.array_equal(np.asarray(Image.open(folder / "masks" / "object-mask.png")) == 255, mask)


def test_jpeg_output_and_rgb_mask(files):
    folder, image, mask = files
    rgb_mask = np.zeros((*mask.shape, 3), np.uint8)
    rgb_mask[mask] = (0, 0, 90)  # any nonzero channel marks the object
    Image.fromarray(rgb_mask).save(folder / "mask-rgb.png")
    assert main(["remove", str(folder / "photo.png"), "--mask", str(folder / "mask-rgb.png"),
                 "-o", str(folder / "out.jpg"), *FAST]) == EXIT_OK
    assert Image.open(folder / "out.jpg").format == "JPEG"


def test_through_a_server_equals_in_process(files, server_address):
    folder, _, _ = files
    common = ["--mask", str(folder / "mask.png"), *FAST, "--seed", "4"]
    assert main(["remove", str(folder / "photo.png"), "-o", str(folder / "local.png"), *common]) == EXIT_OK
    assert main(["remove", str(folder / "photo.png"), "-o", str(folder / "remote.png"), "--server", server_address,
                 *common]) == EXIT_OK
    assert np.array_equal(np.asarray(Image.open(folder / "local.png")), np.asarray(Image.open(folder / "remote.png")))


def test_a_mask_of_another_size_is_an_error_not_a_resize(files, capsys):
    folder, _, _ = files
    Image.fromarray(np.full((20, 30), 255, np.uint8)).save(folder / "small-mask.png")
    code = main(["remove", str(folder / "photo.png"), "--mask", str(folder / "small-mask.png"),
                 "-o", str(folder / "out.png"), *FAST])
    assert code == EXIT_BAD_INPUT
    assert "is 30x20 but the image is 48x48" in capsys.readouterr().err
    assert not (folder / "out.png").exists()


def test_server_errors_come_back_as_sentences(files, server_address, capsys):
    folder, _, _ = files
    Image.fromarray(np.zeros((48, 48), np.uint8)).save(folder / "empty.png")
    assert main(["remove", str(folder / "photo.png"), "--mask", str(folder / "empty.png"), "-o",
                 str(folder / "out.png"), "--server", server_address, *FAST]) == EXIT_BAD_INPUT
    assert "mask is empty" in capsys.readouterr().err
    assert main(["remove", str(folder / "photo.png"), "--mask", str(folder / "mask.png"), "-o",
                 str(folder / "out.png"), "--server", "127.0.0.1:1", *FAST]) == EXIT_FAILED
    assert "semantic-edit serve --port 1" in capsys.readouterr().err


def test_missing_files_and_bad_extensions(files, capsys):
    folder, _, _ = files
    assert main(["remove", str(folder / "nope.png"), "--mask", str(folder / "mask.png"), "-o",
                 str(folder / "out.png")]) == EXIT_BAD_INPUT
    assert "does not exist" in capsys.readouterr().err
    assert main(["remove", str(folder / "photo.png"), "--mask", str(folder / "mask.png"), "-o",
                 str(folder / "out.bmp"), *FAST]) == EXIT_BAD_INPUT
    assert "use one of the extensions" in capsys.readouterr().err


def test_threads_option_sets_torch_threads_and_rejects_negatives(files, capsys):
    import torch

    folder, _, _ = files
    before = torch.get_num_threads()
    try:
        assert main(["remove", str(folder / "photo.png"), "--mask", str(folder / "mask.png"), "-o",
                     str(folder / "out.png"), "--threads", "1", *FAST]) == EXIT_OK
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(SystemExit) as exited:
        main(["remove", str(folder / "photo.png"), "--mask", str(folder / "mask.png"), "-o",
              str(folder / "out.png"), "--threads", "-2", *FAST])
    assert exited.value.code == EXIT_BAD_INPUT
    assert "argument --threads: -2 is out of range: give a whole number from 0 to 1024" in capsys.readouterr().err


@pytest.mark.parametrize("option, value, words", [
    ("--port", "70000", "70000 is out of range: give a whole number from 0 to 65535"),
    ("--port", "-1", "-1 is out of range"),
    ("--max-queued-jobs", "-10", "-10 is out of range: give a whole number from 0 to 1000"),
    ("--max-message-mb", "0", "0 is out of range: give a whole number from 1 to 2047"),
    ("--max-pixels", "0", "0 is out of range: give a whole number of 1 or more"),
    ("--threads", "many", "'many' is not a whole number"),
])
def test_serve_refuses_impossible_startup_options(option, value, words, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["serve", option, value])
    assert exited.value.code == 2  # before anything is loaded or bound
    error = capsys.readouterr().err
    assert f"argument {option}: {words}" in error and "Traceback" not in error


def _remove_args(folder, output, *extra):
    return ["remove", str(folder / "photo.png"), "--mask", str(folder / "mask.png"), "-o", str(output), *extra, *FAST]


def test_the_input_is_not_overwritten_unless_asked(files, capsys):
    folder, image, mask = files
    original = (folder / "photo.png").read_bytes()
    assert main(_remove_args(folder, folder / "photo.png")) == EXIT_BAD_INPUT
    refusal = capsys.readouterr().err
    assert "is the input file" in refusal and "add --overwrite" in refusal
    assert (folder / "photo.png").read_bytes() == original
    assert main(_remove_args(folder, folder / "photo.png", "--overwrite")) == EXIT_OK
    edited = np.asarray(Image.open(folder / "photo.png"))
    assert np.abs(edited[mask].astype(int) - image[mask]).mean() > 30  # the disc is gone, in place
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_an_unwritable_output_is_refused_before_the_edit(files, capsys, monkeypatch):
    folder, _, _ = files
    with monkeypatch.context() as patched:
        patched.setattr(file_commands, "_run", lambda *args: pytest.fail("the edit ran before the output was checked"))
        assert main(_remove_args(folder, folder / "mask.png" / "out.png")) == EXIT_BAD_INPUT  # a file as a folder
    assert "is not writable; choose another -o" in capsys.readouterr().err
    assert main(_remove_args(folder, folder / "sub" / "out.png")) == EXIT_OK  # a folder still to be made is fine
    assert (folder / "sub" / "out.png").exists()


def test_a_failed_write_leaves_the_old_file_byte_identical(files, monkeypatch, capsys):
    folder, _, _ = files
    (folder / "out.png").write_bytes(b"the user's earlier result")

    def full_disk(self, handle, *args, **kwargs):
        handle.write(b"\x89PNG half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    assert main(_remove_args(folder, folder / "out.png")) == EXIT_FAILED
    error = capsys.readouterr().err
    assert "could not write" in error and "No space left on device" in error and "Traceback" not in error
    assert (folder / "out.png").read_bytes() == b"the user's earlier result"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "gpu-box.local"])
def test_serve_refuses_a_network_address_without_insecure_remote(host, capsys):
    assert main(["serve", "--host", host]) == EXIT_BAD_INPUT  # before any model is loaded or port bound
    error = capsys.readouterr().err
    assert f"listening on {host} without TLS and a token lets anyone" in error and "--insecure-remote" in error
    assert "--tls-cert FILE --tls-key FILE --token-file FILE" in error and "ssh -L" in error


def test_loopback_hosts_need_no_flag():
    from inference_server.cli import is_loopback

    assert all(is_loopback(host) for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "::", "10.0.0.1", "example.org"))
