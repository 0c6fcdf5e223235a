from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from jurist.composition import build_authenticator
from jurist.errors import AuthenticationFailed
from jurist.service.tenancy.auth import Authenticator, extract_key
from jurist.settings import load_settings
from jurist.store.keys import KeyFile, digest


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer sk-1", "sk-1"),
        ("bearer sk-1", "sk-1"),
        ("Bearer Authorization: Bearer sk-1", "sk-1"),  # the seed's SDK quirk
        ("Authorization: Bearer sk-1", "sk-1"),
        ("Bearer ", None),
        ("", None),
        (None, None),
    ],
)
def test_extract_key(header: str | None, key: str | None) -> None:
    assert extract_key(header) == key


async def test_tenants_are_per_key_and_on_behalf_of() -> None:
    auth = Authenticator([digest("sk-a"), digest("sk-b")])
    a, b = await auth.authenticate("Bearer sk-a"), await auth.authenticate("Bearer sk-b")
    assert a.id != b.id
    assert (await auth.authenticate("Bearer sk-a", "team-1")).id == a.id + "/team-1"
    with pytest.raises(AuthenticationFailed) as info:
        await auth.authenticate("Bearer sk-c")
    assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
    assert "sk-c" not in info.value.message or len("sk-c") <= 6


async def test_first_start_creates_one_hashed_key(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    auth, key = build_authenticator(settings)
    assert key is not None and key.startswith("sk-jurist-")
    stored = (tmp_path / "api_keys.json").read_text()
    assert key not in stored and digest(key) in json.loads(stored)["keys"][0]["digest"]
    assert stat.S_IMODE((tmp_path / "api_keys.json").stat().st_mode) == 0o600
    await auth.authenticate(f"Bearer {key}")
    again, second = build_authenticator(settings)
    assert second is None  # printed once only
    await again.authenticate(f"Bearer {key}")
    extra = KeyFile(tmp_path).create("ci")
    await build_authenticator(settings)[0].authenticate(f"Bearer {extra}")


async def test_env_keys_replace_the_key_file(tmp_path: Path) -> None:
    KeyFile(tmp_path).create()
    auth, key = build_authenticator(load_settings(data_dir=tmp_path, api_keys=["sk-env"]))
    assert key is None
    await auth.authenticate("Bearer sk-env")
