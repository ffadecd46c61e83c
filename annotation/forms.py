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


class ProjectSettingsForm(forms.Form):
    """The settings page. Choices of architecture come from the ``mlcore`` registry."""

    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    queue_strategy = forms.ChoiceField(label="Queue strategy", help_text="How the annotation queue is ordered.")
    annotators_per_sentence = forms.IntegerField(
        min_value=1, max_value=20, label="Annotators per sentence",
        help_text="Submitted versions wanted per sentence before it leaves the queue; 2 or more for adjudication.")
    annotators_see_others = forms.BooleanField(required=False, label="Annotators may see each other's work")
    allow_new_labels = forms.BooleanField(required=False, label="Imports may add new entity/relation types")
    retrain_min_new_gold = forms.IntegerField(
        min_value=1, label="Retrain threshold", help_text="New gold sentences that trigger a retraining.")
    promotion_tolerance = forms.FloatField(
        min_value=0, max_value=1, label="Promotion tolerance",
        help_text="A new model becomes active unless its F1 is lower than the active one's by more than this "
                  "(0.01 = one point).")
    architecture = forms.ChoiceField(label="Architecture")
    encoder = forms.CharField(
        required=False, max_length=500, label="Encoder",
        help_text="A Hugging Face BERT-family model name or local directory; empty for the packaged MiniLM-L6.")
    model_config = forms.JSONField(
        required=False, label="Model config", widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text='Overrides of the architecture\'s and the training defaults as a JSON object, e.g. '
                  '{"epochs": 5, "rel_context": "sentence"}; README "Models" lists them. Empty for the defaults.')

    def clean_model_config(self) -> dict[str, Any]:
        value = self.cleaned_data.get("model_config")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError('A JSON object of settings, e.g. {"epochs": 5}.')
        return value

    def __init__(self, *args: Any, architectures: list[str] | None = None, **kwargs: Any):
        from annotation.models import QueueStrategy

        super().__init__(*args, **kwargs)
        self.fields["queue_strategy"].choices = QueueStrategy.choices
        self.fields["architecture"].choices = [(a, a) for a in architectures or []]


class GuidelineForm(forms.Form):
    guideline = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "true"}),
                                label="Guideline (Markdown)")
