"""Naughty strings through the forms no other module covers: one URL at intake, sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import Item
from tests.naughty import chosen_strings

pytestmark = pytest.mark.django_db

BLNS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "naughty-strings" / "blns.txt"


def naughty_strings() -> list[str]:
    lines = BLNS.read_text(encoding="utf-8").splitlines()
    return chosen_strings([line for line in lines if line.strip() and not line.startswith("#")])


def test_it_survives_naughty_strings_as_a_single_url(client, alice) -> None:
    client.force_login(alice)
    for text in naughty_strings():
        response = client.post(reverse("items:intake_single"), {"url": text})
        assert response.status_code < 500, text
        if response.status_code == 400:
            # Refused with the reason next to the field; the input is shown escaped.
            assert "<script>alert" not in response.content.decode()
    assert not Item.objects.filter(url_normalised__contains="<script>").exists()


def test_it_survives_naughty_strings_at_sign_in() -> None:
    client = Client()
    for text in naughty_strings():
        response = client.post(reverse("login"), {"username": text, "password": text})
        assert response.status_code < 500, text
        assert "<script>alert" not in response.content.decode()
