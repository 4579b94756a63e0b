"""The takeover fingerprint table: the shipped one, a user's file, and matching CNAME chains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectguard.errors import InputError
from connectguard.probes.takeover import builtin_table, load_table, match_provider


def test_builtin_table_covers_at_least_twenty_providers_of_each_kind() -> None:
    table = builtin_table()
    assert len(table) >= 20
    assert len({p.name for p in table}) == len(table)
    assert {"object storage", "static hosting", "PaaS", "CDN"} <= {p.kind for p in table}
    for provider in table:
        assert provider.has_response or provider.nxdomain, provider.name


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        (("my-bucket.s3.amazonaws.com",), "Amazon S3"),
        (("my-bucket.s3-website-eu-west-1.amazonaws.com",), "Amazon S3"),
        (("Vendor.GitHub.IO.",), "GitHub Pages"),
        (("edge.example.net", "vendor.herokuapp.com"), "Heroku"),
        (("vendor.azurewebsites.net",), "Azure App Service"),
        (("my-elb-123.eu-west-1.elb.amazonaws.com",), None),
        (("herokuapp.com.evil.test",), None),
        (("github.io",), None),
    ],
)
def test_match(chain: tuple[str, ...], expected: str | None) -> None:
    found = match_provider(chain, builtin_table())
    assert (found.name if found else None) == expected


def test_unclaimed_response_needs_status_and_marker() -> None:
    heroku = match_provider(("x.herokuapp.com",), builtin_table())
    assert heroku is not None
    assert heroku.is_unclaimed_response(404, "<title>No such app</title>")
    assert not heroku.is_unclaimed_response(200, "<title>No such app</title>")
    assert not heroku.is_unclaimed_response(404, "<title>no such APP</title>")
    assert not heroku.is_unclaimed_response(None, "No such app")


def test_user_table_is_added(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    provider = {"name": "Acme Pages", "kind": "static hosting", "cnames": ["*.acme-pages.test"],
                "status": 404, "marker": "No Acme site here", "nxdomain": False}  # fmt: skip
    path.write_text(json.dumps({"providers": [provider]}))
    table = load_table(str(path))
    assert len(table) == len(builtin_table()) + 1
    found = match_provider(("docs.acme-pages.test",), table)
    assert found is not None and found.marker == "No Acme site here"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "Could not read the takeover table"),
        ("[]", "a list under 'providers'"),
        ('{"providers": [{"cnames": ["*.x.test"], "marker": "m"}]}', "needs a 'name'"),
        ('{"providers": [{"name": "X", "cnames": [], "marker": "m"}]}', "needs 'cnames'"),
        ('{"providers": [{"name": "X", "cnames": ["*.x.test"]}]}', "needs a 'marker'"),
        ('{"providers": [{"name": "X", "cnames": ["*.x.test"], "status": 42, "marker": "m"}]}',
         "not an HTTP status"),
    ],
)  # fmt: skip
def test_bad_user_table_is_one_sentence(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError) as raised:
        load_table(str(path))
    assert message in raised.value.message


def test_missing_user_table(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Could not read"):
        load_table(str(tmp_path / "absent.json"))
