from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from phonenumbers import SUPPORTED_REGIONS

from core.forms import GuardedForm
from imports.mappings import CUSTOM, FIELDS, TEMPLATES
from imports.models import ImportKind

# Checked while the page waits (about a second per 100,000 rows); larger files go through the command.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class UploadForm(GuardedForm):
    kind = forms.ChoiceField(label=_("The file holds"), choices=ImportKind.choices)
    template = forms.ChoiceField(
        label=_("Exported from"),
        required=False,
        choices=[
            ("", _("Recognise it from the columns")),
            *((key, t.label) for key, t in TEMPLATES.items()),
            (CUSTOM, _("Another system (I map the columns)")),
        ],
    )
    file = forms.FileField(label=_("CSV file"))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("Files over 50 MB go through the import_csv command (ask whoever runs your Storeloop).")
            )
        return upload


class MappingForm(GuardedForm):
    """One choice of the file's columns per Storeloop field of the job's kind."""

    award_points = forms.BooleanField(label=_("Imported purchases earn points under today's program"), required=False)

    phone_region = forms.ChoiceField(
        label=_("Phone numbers without a country code are from"),
        required=False,
        choices=[("", _("— they all have one —")), *((region, region) for region in sorted(SUPPORTED_REGIONS))],
    )

    def __init__(self, *args: Any, kind: str, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in the file —")), *((header, header) for header in headers)]
        for field in FIELDS[kind]:
            self.fields[f"map_{field.name}"] = forms.ChoiceField(
                label=field.label, choices=choices, required=field.required
            )
        if kind != ImportKind.PURCHASES:
            del self.fields["award_points"]

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("map_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("map_") and value
        }
