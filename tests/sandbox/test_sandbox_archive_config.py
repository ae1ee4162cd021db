"""Archive and Official Account settings from the environment: demo defaults, the key file, and named errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.config import ArchiveConfig, OAConfig, SandboxConfig, SandboxConfigError
from tests.sandbox.archive_support import keypair


def test_archive_is_disabled_and_oa_has_demo_values_when_environment_is_empty() -> None:
    config = SandboxConfig.from_env({})
    assert config.archive == ArchiveConfig() and not config.archive.enabled
    assert (config.archive.key_version, config.archive.notify_interval_s) == (1, 15.0)
    assert config.oa == OAConfig()
    assert config.oa.callback_url == "http://127.0.0.1:8080/wechat/callback"
    assert config.oa.app_id.startswith("wx") and config.oa.original_id.startswith("gh_")


def test_archive_reads_the_public_key_file_when_its_path_is_set(tmp_path: Path) -> None:
    path = tmp_path / "archive_public.pem"
    path.write_bytes(keypair()[0])
    env = {
        "SANDBOX_ARCHIVE_PUBLIC_KEY": str(path),
        "SANDBOX_ARCHIVE_KEY_VERSION": "4",
        "WECOM_ARCHIVE_SECRET": "s3cret",
        "SANDBOX_ARCHIVE_NOTIFY_INTERVAL_S": "2.5",
    }
    archive = SandboxConfig.from_env(env).archive
    assert archive.enabled and archive.public_key_pem == keypair()[0]
    assert (archive.key_version, archive.secret, archive.notify_interval_s) == (4, "s3cret", 2.5)


def test_archive_key_is_refused_when_it_is_not_rsa_2048(tmp_path: Path) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    path = tmp_path / "small.pem"
    path.write_bytes(small.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(SandboxConfigError, match=r"SANDBOX_ARCHIVE_PUBLIC_KEY.*2048"):
        SandboxConfig.from_env({"SANDBOX_ARCHIVE_PUBLIC_KEY": str(path)})
    path.write_text("not a key")
    with pytest.raises(SandboxConfigError, match="SANDBOX_ARCHIVE_PUBLIC_KEY"):
        SandboxConfig.from_env({"SANDBOX_ARCHIVE_PUBLIC_KEY": str(path)})
    with pytest.raises(SandboxConfigError, match="cannot be read"):
        SandboxConfig.from_env({"SANDBOX_ARCHIVE_PUBLIC_KEY": str(tmp_path / "missing.pem")})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SANDBOX_ARCHIVE_KEY_VERSION", "0"),
        ("SANDBOX_ARCHIVE_KEY_VERSION", "v1"),
        ("SANDBOX_ARCHIVE_NOTIFY_INTERVAL_S", "-1"),
        ("WECHAT_OA_APPID", "ww5a1f0c9e2b7d4a31"),
        ("WECHAT_OA_SECRET", "short"),
        ("WECHAT_OA_TOKEN", "ab"),
        ("WECHAT_OA_AES_KEY", "too-short"),
        ("WECHAT_OA_ORIGINAL_ID", "gh_xyz"),
        ("SANDBOX_OA_CALLBACK_URL", "ftp://example"),
    ],
)
def test_error_names_the_variable_when_an_archive_or_oa_value_is_bad(name: str, value: str) -> None:
    with pytest.raises(SandboxConfigError, match=name):
        SandboxConfig.from_env({name: value})
