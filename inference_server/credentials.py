"""The files remote use needs, read once with a sentence for every way they can be wrong: the server's TLS
certificate and key, the certificate authority a client trusts, and the shared bearer token.

    token = read_token(Path("token.txt"))     # a line of at least MIN_TOKEN_CHARS characters
    pem = read_pem(Path("server.crt"), "certificate")

Nothing here imports grpc: the CLI reads the files before it connects or listens. The token is never printed.
"""
from __future__ import annotations

from pathlib import Path

from .errors import InvalidInputError

MIN_TOKEN_CHARS = 16
TOKEN_HINT = "e.g. python -c \"import secrets; print(secrets.token_urlsafe(32))\" > token.txt"


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"the {what} file {path} does not exist") from None
    except OSError as error:
        raise InvalidInputError(f"the {what} file {path} cannot be read: {error.strerror}") from None


def read_token(path: Path) -> str:
    """The bearer token in `path`: its first line, stripped; at least MIN_TOKEN_CHARS printable ASCII characters."""
    lines = _read(path, "token").decode("utf-8", errors="replace").strip().splitlines()
    token = lines[0].strip() if lines else ""
    if len(token) < MIN_TOKEN_CHARS:
        raise InvalidInputError(f"the token file {path} must hold a token of at least {MIN_TOKEN_CHARS} characters "
                                f"on its first line; {TOKEN_HINT}")
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise InvalidInputError(f"the token in {path} must be printable ASCII without spaces; {TOKEN_HINT}")
    return token


def read_pem(path: Path, what: str) -> bytes:
    """The PEM file `path` (a certificate, a key, a certificate authority), checked to look like PEM."""
    data = _read(path, what)
    if b"-----BEGIN " not in data:
        raise InvalidInputError(f"the {what} file {path} is not in PEM format (it has no '-----BEGIN' line)")
    return data
