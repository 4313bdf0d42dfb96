"""HTTPS with --cert/--key; the CLI verifies the server against RFARM_SERVER_CA; rfarm login keeps the token."""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import assert_one_error_line, clean_env, run_cli, run_cli_process

pytestmark = pytest.mark.e2e


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A studio CA, and a certificate it signed for 127.0.0.1: (ca.pem, server.pem, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rfarm test studio CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "farm")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def test_https_is_verified_and_login_keeps_the_token(tmp_path: Path, start_server: Callable[..., Any]) -> None:
    ca, cert, key = make_certificates(tmp_path)
    farm_env = clean_env({"RFARM_HOME": str(tmp_path / "farm")})
    code, out, err = run_cli_process("users", "add", "alice", "--json", env=farm_env)
    assert code == 0, err
    token = json.loads(out)["token"]
    import ssl

    server = start_server(farm_env, "--cert", str(cert), "--key", str(key), verify=ssl.create_default_context(cafile=ca))
    assert server.url.startswith("https://")
    artist_home = tmp_path / "artist"
    env = clean_env({"RFARM_HOME": str(artist_home), "RFARM_SERVER_URL": server.url, "RFARM_TOKEN": token,
                     "RFARM_SERVER_CA": str(ca)})
    code, out, err = run_cli("list", "--json", env=env)
    assert (code, json.loads(out)) == (0, []), err
    untrusted = {k: v for k, v in env.items() if k != "RFARM_SERVER_CA"}
    line = assert_one_error_line(*run_cli("list", env=untrusted), exit_code=3)
    assert "certificate" in line.lower()
    # rfarm login: checks the token against the server, then keeps URL and token for the owner alone
    login_env = {k: v for k, v in env.items() if k not in ("RFARM_SERVER_URL", "RFARM_TOKEN")}
    done = subprocess.run([sys.executable, "-m", "rfarm", "login", server.url, "--token-stdin", "--json"],
                          env=login_env, input=token + "\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["user"] == "alice"
    kept = artist_home / "rfarm.toml"
    assert token not in done.stdout + done.stderr
    if os.name != "nt":
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    code, out, err = run_cli("list", "--json", env=login_env)
    assert (code, json.loads(out)) == (0, []), err
    wrong = subprocess.run([sys.executable, "-m", "rfarm", "login", server.url, "--token-stdin"],
                           env=login_env, input="not-a-token\n", capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 4 and wrong.stderr.startswith("Error: ")
    assert server.stop() == 0
