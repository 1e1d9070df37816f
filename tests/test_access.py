"""Every staff URL is closed to anonymous users, found by walking the URL resolver."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core.roles import Role, user_roles

# Public on purpose: signing in and out (ours and the admin's), the load
# balancer's liveness probe, and the operator portal (capability links; its own
# security tests are in test_portal_security.py).
PUBLIC_URL_NAMES = {
    "login",
    "healthz",
    "admin:login",
    "admin:logout",
    "portal:page",
    "portal:receipt",
    "portal:set_language",
    # Unknown /api/ paths: a JSON 404 for everyone (nothing behind it to protect).
    "api:not_found",
}


def walk(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """(route with converters, name) for every URL the staff service mounts."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            yield from walk(pattern.url_patterns, route, ns)
        elif isinstance(pattern, URLPattern):
            yield route, f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")


def concrete(route: str) -> str:
    """Fill every converter with a plausible value; the view must refuse before looking it up."""
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str|slug|uuid|path):\w+>|<\w+>", "x", route)
    # Admin patterns are regexes: strip anchors and groups to a usable path.
    route = route.replace("^", "").replace("$", "").replace("\\Z", "")
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
    return "/" + route.lstrip("/")


STAFF_URLS = sorted(
    {
        (concrete(route), name)
        for route, name in walk(get_resolver().url_patterns)
        if name not in PUBLIC_URL_NAMES
    }
)


def is_sign_in_redirect(response) -> bool:
    location = response.headers.get("Location", "")
    return response.status_code == 302 and (
        location.startswith(reverse(settings.LOGIN_URL)) or location.startswith("/admin/login/")
    )


@pytest.mark.django_db
def test_an_unknown_api_path_is_a_json_404_for_everyone() -> None:
    response = Client().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_finds_the_staff_urls_to_check() -> None:
    names = {name for _, name in STAFF_URLS}
    assert "dashboard" in names
    assert len(STAFF_URLS) > 20


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "name"), STAFF_URLS, ids=[n or u for u, n in STAFF_URLS])
def test_it_sends_anonymous_users_to_sign_in(url: str, name: str) -> None:
    client = Client()
    get, post = client.get(url), client.post(url)

    if name.startswith("api:"):
        # The REST API answers a program: 401 with a Bearer challenge, never a redirect.
        assert (get.status_code, post.status_code) == (401, 401), f"{url}: {get}, {post}"
        assert get["WWW-Authenticate"].startswith("Bearer")
        return
    assert get.status_code not in range(200, 300), f"GET {url} answered {get.status_code}"
    assert post.status_code not in range(200, 300), f"POST {url} answered {post.status_code}"
    assert is_sign_in_redirect(get) or is_sign_in_redirect(post), (
        f"{url}: GET {get.status_code}, POST {post.status_code}"
    )


@pytest.mark.django_db
def test_it_creates_a_staff_user_with_a_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEW_USER_PASSWORD", "a-long-enough-passphrase")
    call_command("create_staff_user", "jane", role="supervisor", password_env="NEW_USER_PASSWORD")

    signed_in = Client().post(
        "/accounts/login/", {"username": "jane", "password": "a-long-enough-passphrase"}
    )
    assert signed_in.status_code == 302
    from django.contrib.auth import get_user_model

    jane = get_user_model().objects.get(username="jane")
    assert user_roles(jane) == {Role.SUPERVISOR}
    assert jane.has_perm("cases.approve_request")


@pytest.mark.django_db
def test_it_refuses_a_weak_password_for_a_staff_user(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management.base import CommandError

    monkeypatch.setenv("NEW_USER_PASSWORD", "123")
    with pytest.raises(CommandError, match="too short"):
        call_command("create_staff_user", "jim", role="officer", password_env="NEW_USER_PASSWORD")


@pytest.mark.django_db
def test_it_signs_out_only_by_post(alice) -> None:
    client = Client()
    client.force_login(alice)

    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert is_sign_in_redirect(client.get(reverse("dashboard")))
