"""Forms of the server-rendered pages. They only shape input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from annotation.models import Split

IMPORT_FORMATS = [
    ("brat", "BRAT standoff (.txt/.ann pairs in a zip, or one pair)"),
    ("spert", "SpERT JSON (.json)"),
    ("jsonl", "JSONL (.jsonl, one document a line)"),
    ("text", "Plain text (.txt)"),
]
EXPORT_FORMATS = [
    ("brat", "BRAT standoff (.txt/.ann)"),
    ("spert", "SpERT JSON"),
    ("conll", "CoNLL / BIO (flat entities)"),
    ("jsonl", "JSONL"),
]


class ProjectCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A zip of BRAT .txt/.ann pairs, a SpERT .json, a .jsonl or a .txt file.")
    format = forms.ChoiceField(choices=IMPORT_FORMATS, initial="brat")
    as_gold = forms.BooleanField(
        required=False, initial=True, label="Store as gold",
        help_text="Unchecked: the annotations are stored as your own submitted work.",
    )
    split = forms.ChoiceField(
        choices=[("", "Automatic (drawn per trial)"), *Split.choices], required=False, label="Force split"
    )
    text_mode = forms.ChoiceField(
        choices=[("lines", "One criterion per line"), ("sections", "Eligibility sections, split into criteria")],
        initial="lines", label="Plain-text mode",
    )

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"as_gold": data["as_gold"], "split": data["split"] or None, "text_mode": data["text_mode"]}


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=EXPORT_FORMATS, initial="brat")
    split = forms.ChoiceField(choices=[("", "Any"), *Split.choices], required=False)
    layers = forms.ChoiceField(
        choices=[("gold", "Gold only"), ("all", "Gold and every annotator's work")],
        initial="gold", widget=forms.RadioSelect,
    )
    discontinuous = forms.ChoiceField(
        choices=[("cover", "Cover the fragments with one span"), ("skip", "Skip discontinuous mentions")],
        initial="cover", help_text="For formats without discontinuous spans (SpERT).",
    )
    nested = forms.ChoiceField(
        choices=[("outermost", "Keep the outermost"), ("innermost", "Keep the innermost"),
                 ("first", "Keep the first")],
        initial="outermost", label="Nested mentions", help_text="For flat formats (CoNLL/BIO).",
    )

    predictions = forms.ChoiceField(
        choices=[("", "No predictions")], required=False, label="Model predictions",
        help_text="Add a model version's predictions as one more layer (predictions-v<N>).",
    )

    def __init__(self, *args: Any, versions: list[tuple[int, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["predictions"].choices = [
            ("", "No predictions"), *((str(n), f"Version {n} ({status})") for n, status in versions or [])]

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "split": data["split"] or None,
            "gold_only": data["layers"] == "gold",
            "discontinuous": data["discontinuous"],
            "nested": data["nested"],
            "predictions": int(data["predictions"]) if data.get("predictions") else None,
        }


class WebhookForm(forms.Form):
    alert_webhook_url = forms.URLField(
        required=False, max_length=500, label="Alert webhook URL", assume_scheme="https",
        help_text="Rejected candidates and drops of the active model's figures are POSTed here as JSON. "
                  "Leave empty for none.",
    )
