"""Forms of the staff platform screens.

They parse and check input only; the services in ``platforms.services`` do every write
and raise ``DomainError`` for what the forms cannot know (a domain that belongs to
another platform, a duplicate contact). The forms are plain ``Form``s built from the
model fields rather than ``ModelForm``s, so that validating a form never touches the
instance the service is about to change.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from core.validators import no_header_breaks
from core.widgets import CompactSelect
from platforms.models import Contact, ContactChannel, Platform, UpstreamRole
from platforms.selectors import infrastructure_providers
from platforms.services import CONTACT_FIELDS, PLATFORM_FIELDS
from platforms.urlnorm import DomainRefused, normalise_domain

MAX_DOMAINS = 200


class BootstrapForm(forms.Form):
    """Bootstrap 5 classes on every widget, and ``is-invalid`` on those with errors.

    Subclasses call ``style_widgets()`` once their fields are all in place.
    """

    def style_widgets(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs["class"] = "form-check-input"
            elif isinstance(widget, forms.Select):
                widget.attrs["class"] = "form-select"
            else:
                widget.attrs["class"] = "form-control"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"


_PLATFORM_CHOICES = (
    "kind",
    "tier",
    "architecture",
    "country",
    "status",
    "operator_can_act",
    "preferred_language",
)


class PlatformForm(BootstrapForm):
    """A platform's attributes and its domains, one per line."""

    domains = forms.CharField(
        label=_("Domains"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "none"}),
        help_text=_(
            "One host name per line, e.g. justpaste.it. URLs are matched to the platform "
            "by the longest domain they end in."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_fields = fields_for_model(
            Platform,
            fields=PLATFORM_FIELDS,
            widgets=dict.fromkeys(_PLATFORM_CHOICES, CompactSelect),
        )
        domains = self.fields.pop("domains")
        for name in PLATFORM_FIELDS:
            self.fields[name] = model_fields[name]
            if name == "name":
                self.fields["domains"] = domains
        # The name goes into every request email's subject.
        self.fields["name"].validators.append(no_header_breaks)
        target = self.fields["response_target_days"]
        target.label = _("Response target (days)")
        target.validators = [MinValueValidator(1), MaxValueValidator(365)]
        target.widget.attrs.update({"min": 1, "max": 365})
        self.fields["notes"].widget.attrs["rows"] = 3
        self.fields["operator_can_act"].label = _("Operator can act on content")
        self.style_widgets()

    def clean_domains(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["domains"].splitlines()]
        lines = [line for line in lines if line]
        if len(lines) > MAX_DOMAINS:
            raise forms.ValidationError(
                _("At most %(limit)d domains at once."), params={"limit": MAX_DOMAINS}
            )
        problems = []
        for line in lines:
            try:
                normalise_domain(line)
            except DomainRefused as exc:
                problems.append(exc.message)
        if problems:
            raise forms.ValidationError(problems)
        return lines

    def platform_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in PLATFORM_FIELDS}

    @classmethod
    def initial_for(cls, platform: Platform, domains: list[str]) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(platform, name) for name in PLATFORM_FIELDS}
        initial["country"] = platform.country.code or ""
        initial["domains"] = "\n".join(domains)
        return initial


class ContactForm(BootstrapForm):
    """A mailbox or web form at a platform."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(
            fields_for_model(
                Contact,
                fields=[f for f in CONTACT_FIELDS if f != "web_form_url"],
                widgets=dict.fromkeys(("channel", "role", "language"), CompactSelect),
            )
        )
        # Typed without a scheme, a web form's address is an https one (Django 6's default).
        self.fields["web_form_url"] = forms.URLField(
            max_length=2000, required=False, assume_scheme="https"
        )
        # Kept header-safe: a contact's name may become a display name in To.
        self.fields["name"].validators.append(no_header_breaks)
        self.fields["email"].help_text = _("Needed when the channel is email.")
        self.fields["web_form_url"].label = _("Web form URL")
        self.fields["web_form_url"].help_text = _("Needed when the channel is a web form.")
        self.fields["language"].help_text = _("Leave empty to use the platform's language.")
        self.fields["is_primary"].label = _("Primary contact")
        self.fields["is_primary"].help_text = _(
            "Requests go to the primary contact first; a new primary replaces the old one."
        )
        self.fields["is_active"].label = _("Active")
        self.fields["notes"].widget.attrs["rows"] = 3
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        channel = cleaned.get("channel")
        if channel == ContactChannel.EMAIL and not cleaned.get("email") and "email" in cleaned:
            self.add_error("email", _("An email contact needs an email address."))
        if (
            channel == ContactChannel.WEB_FORM
            and not cleaned.get("web_form_url")
            and "web_form_url" in cleaned
        ):
            self.add_error("web_form_url", _("A web-form contact needs the form's URL."))
        return cleaned

    def contact_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in CONTACT_FIELDS}

    @classmethod
    def initial_for(cls, contact: Contact) -> dict[str, Any]:
        return {name: getattr(contact, name) for name in CONTACT_FIELDS}


class UpstreamProviderForm(BootstrapForm):
    """Name the host, CDN, registrar or gateway behind a platform."""

    provider = forms.ModelChoiceField(
        queryset=Platform.objects.all(), label=_("Provider"), widget=CompactSelect
    )
    role = forms.ChoiceField(choices=UpstreamRole.choices, label=_("Role"), widget=CompactSelect)

    def __init__(self, *args: Any, platform: Platform, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any platform is accepted, so that naming one of the wrong kind gets the service's
        # explanation; only infrastructure providers are offered.
        provider = self.fields["provider"]
        provider.widget.choices = [
            ("", _("Choose an infrastructure provider")),
            *((p.pk, p.name) for p in infrastructure_providers(exclude=platform)),
        ]
        self.style_widgets()


class TcoNoticeForm(forms.Form):
    """When the unit gave the platform its TCO Art. 3(2) advance notice (local time)."""

    given_at = forms.DateTimeField(
        label=_("Advance notice given at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
    )
