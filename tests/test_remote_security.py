"""Remote use: a server with TLS and a token serves only clients that speak TLS and send the token; health checks
stay open; the CLI and the plug-in's client reach it with --tls-ca / --token-file (the plug-in: its connection
settings)."""
from __future__ import annotations

import datetime
import ipaddress

import grpc
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from inference_server.cli import EXIT_BAD_INPUT, EXIT_OK, main
from inference_server.credentials import read_token
from inference_server.errors import InvalidInputError
from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc

TOKEN = "s3cret-token-for-the-tests-0123456789"


def self_signed() -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                               x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return (certificate.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """A real server with TLS and a token on a free loopback port: (address, CA file, token file, folder)."""
    from inference_server.config import ServerConfig
    from inference_server.device import choose_device
    from inference_server.service.server import create_server

    folder = tmp_path_factory.mktemp("tls")
    certificate, key = self_signed()
    (folder / "server.crt").write_bytes(certificate)
    (folder / "server.key").write_bytes(key)
    (folder / "token.txt").write_text(TOKEN + "\n")
    config = ServerConfig(port=0, device="cpu", max_pixels=128 * 128, tls_certificate=certificate, tls_key=key,
                          token=TOKEN)
    server, port = create_server(config, choose_device("cpu"))
    yield f"127.0.0.1:{port}", folder / "server.crt", folder / "token.txt", folder
    server.stop(grace=None)


def tls_stub(address: str, ca_file):
    channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca_file.read_bytes()))
    return channel, pb_grpc.SemanticEditStub(channel)


def small_remove() -> pb.EditRequest:
    image = np.full((32, 32, 3), 90, np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    mask[10:20, 10:20] = 1
    return pb.EditRequest(image=pb.Image(width=32, height=32, format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes()),
                          remove=pb.RemoveEdit(target=pb.Target(mask=pb.Mask(width=32, height=32,
                                                                             data=mask.tobytes()))),
                          options=pb.EditOptions(quality="fast", iterations=2))


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer wrong-token-0123456789"),),
                                      (("authorization", TOKEN),)])
def test_calls_without_the_right_token_are_refused_and_run_nothing(secured, metadata):
    address, ca_file, _, _ = secured
    channel, stub = tls_stub(address, ca_file)
    with channel:
        for call in (lambda: stub.GetInfo(pb.GetInfoRequest(), timeout=10, metadata=metadata),
                     lambda: list(stub.Edit(small_remove(), timeout=10, metadata=metadata))):
            with pytest.raises(grpc.RpcError) as refused:
                call()
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "--token-file" in refused.value.details() and TOKEN not in refused.value.details()


def test_undecodable_bytes_without_a_token_are_refused_as_unauthenticated(secured):
    address, ca_file, _, _ = secured
    channel, _ = tls_stub(address, ca_file)
    with channel:
        raw = channel.unary_unary("/semantic_edit.v1.SemanticEdit/GetInfo")  # no serializer: raw bytes
        with pytest.raises(grpc.RpcError) as refused:
            raw(b"\xff\xff\xff", timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_right_token_over_tls_is_served_and_health_needs_no_token(secured):
    address, ca_file, _, _ = secured
    channel, stub = tls_stub(address, ca_file)
    with channel:
        events = list(stub.Edit(small_remove(), timeout=60, metadata=(("authorization", f"Bearer {TOKEN}"),)))
        assert events[-1].HasField("result")
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_a_plain_text_client_cannot_talk_to_a_tls_server(secured):
    address, _, _, _ = secured
    with grpc.insecure_channel(address) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            pb_grpc.SemanticEditStub(channel).GetInfo(pb.GetInfoRequest(), timeout=5,
                                                      metadata=(("authorization", f"Bearer {TOKEN}"),))
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_cli_reaches_it_with_its_ca_and_token(secured, capsys):
    address, ca_file, token_file, folder = secured
    image = np.full((32, 32, 3), 90, np.uint8)
    image[10:20, 10:20] = (200, 30, 30)
    Image.fromarray(image).save(folder / "in.png")
    mask = np.zeros((32, 32), np.uint8)
    mask[10:20, 10:20] = 255
    Image.fromarray(mask).save(folder / "mask.png")
    command = ["remove", str(folder / "in.png"), "--mask", str(folder / "mask.png"), "--quality", "fast",
               "--server", address, "--tls-ca", str(ca_file)]
    assert main([*command, "-o", str(folder / "out.png"), "--token-file", str(token_file)]) == EXIT_OK
    out = np.asarray(Image.open(folder / "out.png"))
    assert np.abs(out[12:18, 12:18].astype(int) - 90).max() < 10  # the red square is gone
    assert main([*command, "-o", str(folder / "refused.png")]) != EXIT_OK  # no token
    assert "refused this client" in capsys.readouterr().err and not (folder / "refused.png").exists()
    assert main(["info", "--server", address, "--tls-ca", str(ca_file), "--token-file", str(token_file)]) == EXIT_OK
    assert "shadow-unet" in capsys.readouterr().out


def test_the_plugin_client_reaches_it_with_its_connection_settings(secured):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gimp_plugin" / "semantic-edit"))
    from semantic_edit_client import ConnectionRefusedByServerError, SemanticEditClient

    address, ca_file, token_file, _ = secured
    with SemanticEditClient(address, tls_ca=ca_file.read_bytes(), token=read_token(token_file)) as client:
        assert "remove" in client.get_info().edits
    with SemanticEditClient(address, tls_ca=ca_file.read_bytes(), token="not-the-token-0123456789") as client:
        with pytest.raises(ConnectionRefusedByServerError) as refused:
            client.get_info()
        assert "not-the-token" not in str(refused.value)


@pytest.mark.parametrize("extra, words", [
    (["--host", "0.0.0.0"], "without TLS and a token"),
    (["--host", "0.0.0.0", "--token-file", "TOKEN"], "without TLS"),
    (["--tls-cert", "CERT"], "TLS needs both --tls-cert FILE and --tls-key FILE"),
    (["--token-file", "MISSING"], "does not exist"),
    (["--token-file", "SHORT"], "at least 16 characters"),
    (["--tls-cert", "TOKEN", "--tls-key", "TOKEN"], "not in PEM format"),
])
def test_serve_refuses_unsafe_or_broken_remote_settings(secured, tmp_path, capsys, extra, words):
    _, ca_file, token_file, folder = secured
    (tmp_path / "short.txt").write_text("abc\n")
    files = {"TOKEN": str(token_file), "CERT": str(ca_file), "MISSING": str(tmp_path / "nope.txt"),
             "SHORT": str(tmp_path / "short.txt")}
    assert main(["serve", "--port", "0", *(files.get(a, a) for a in extra)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert words in err and TOKEN not in err


def test_a_token_file_is_read_and_checked(tmp_path):
    (tmp_path / "t").write_text(f"  {TOKEN}  \nsecond line\n")
    assert read_token(tmp_path / "t") == TOKEN
    (tmp_path / "spaces").write_text("a token with spaces in it\n")
    with pytest.raises(InvalidInputError, match="without spaces"):
        read_token(tmp_path / "spaces")


def test_the_plugin_reads_its_connection_settings_per_server(secured, tmp_path):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gimp_plugin" / "semantic-edit"))
    from semantic_edit_client import InvalidRequestError, connection_settings

    address, ca_file, token_file, _ = secured
    settings_file = tmp_path / "semantic-edit-connection.json"
    assert connection_settings(settings_file, address) == {}  # no file: plain text, no token
    settings_file.write_text(json.dumps({address: {"tls_ca_file": str(ca_file), "token_file": str(token_file)}}))
    assert connection_settings(settings_file, address) == {"tls_ca": ca_file.read_bytes(), "token": TOKEN}
    assert connection_settings(settings_file, "other-host:50051") == {}
    (tmp_path / "short.txt").write_text("abc\n")
    settings_file.write_text(json.dumps({address: {"token_file": str(tmp_path / "short.txt")}}))
    with pytest.raises(InvalidRequestError, match="holds no token"):
        connection_settings(settings_file, address)
    settings_file.write_text(json.dumps({address: {"tls_ca_file": str(tmp_path / "missing.pem")}}))
    with pytest.raises(InvalidRequestError, match="cannot be read"):
        connection_settings(settings_file, address)
    settings_file.write_text("{not json")
    with pytest.raises(InvalidRequestError, match="is not a JSON object"):
        connection_settings(settings_file, address)
