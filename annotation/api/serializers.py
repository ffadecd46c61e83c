"""Input and output serializers, explicit field lists throughout."""

from __future__ import annotations

from rest_framework import serializers

from annotation.models import (
    Document,
    ImportJob,
    Membership,
    ModelVersion,
    Project,
    QueueStrategy,
    Role,
    Sentence,
    Split,
)


class ProjectOutput(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = [
            "id", "name", "description", "guideline", "guideline_version", "allow_new_labels",
            "annotators_per_sentence", "annotators_see_others", "queue_strategy", "encoder", "architecture",
            "model_config", "retrain_min_new_gold", "promotion_tolerance", "created_at",
        ]


class ProjectInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    guideline = serializers.CharField(required=False, allow_blank=True)
    allow_new_labels = serializers.BooleanField(required=False)
    annotators_per_sentence = serializers.IntegerField(required=False, min_value=1, max_value=20)
    annotators_see_others = serializers.BooleanField(required=False)
    queue_strategy = serializers.ChoiceField(choices=QueueStrategy.choices, required=False)
    encoder = serializers.CharField(required=False, allow_blank=True, max_length=500)
    architecture = serializers.CharField(required=False, max_length=100)
    model_config = serializers.DictField(required=False, help_text="Overrides of the model and training defaults.")
    retrain_min_new_gold = serializers.IntegerField(required=False, min_value=1)
    promotion_tolerance = serializers.FloatField(required=False, min_value=0, max_value=1)


class EntityTypeSpec(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    colour = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    hotkey = serializers.CharField(max_length=1, required=False, allow_blank=True)


class RelationTypeSpec(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    symmetric = serializers.BooleanField(required=False, default=False)
    allowed_heads = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    allowed_tails = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)


class SchemaSerializer(serializers.Serializer):
    entity_types = EntityTypeSpec(many=True)
    relation_types = RelationTypeSpec(many=True)


class MembershipOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["user", "username", "role"]


class MembershipInput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class RoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class SentenceBrief(serializers.ModelSerializer):
    class Meta:
        model = Sentence
        fields = ["id", "position", "start", "end", "text"]


class DocumentOutput(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "external_id", "group_key", "section", "split", "metadata", "created_at"]


class DocumentDetailOutput(DocumentOutput):
    sentences = SentenceBrief(many=True, read_only=True)

    class Meta(DocumentOutput.Meta):
        fields = [*DocumentOutput.Meta.fields, "text", "sentences"]


class MentionIO(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    fragments = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField(), min_length=2,
                                                                  max_length=2), min_length=1)
    text = serializers.CharField(read_only=True)


class RelationIO(serializers.Serializer):
    id = serializers.CharField(required=False)
    type = serializers.CharField()
    head = serializers.CharField()
    tail = serializers.CharField()


class GroupIO(serializers.Serializer):
    id = serializers.CharField(required=False)
    type = serializers.CharField(default="OR")
    members = serializers.ListField(child=serializers.CharField(), min_length=2)


class AnnotationInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=0, help_text="The version you edited; 0 for a new annotation.")
    status = serializers.ChoiceField(choices=["draft", "submitted"], default="draft")
    mentions = MentionIO(many=True)
    relations = RelationIO(many=True, required=False, default=list)
    groups = GroupIO(many=True, required=False, default=list)
    client_id = serializers.CharField(
        max_length=64, required=False, default="", allow_blank=True,
        help_text="An id of the editing page (random per page load): its own stale saves supersede each other "
                  "by client_seq instead of answering 409.")
    client_seq = serializers.IntegerField(
        min_value=0, required=False, default=0, help_text="The page's change counter for this state.")


class AnnotationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sentence = serializers.IntegerField()
    annotator = serializers.CharField(allow_null=True)
    gold = serializers.BooleanField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    updated_at = serializers.CharField(allow_null=True)
    mentions = MentionIO(many=True)
    relations = RelationIO(many=True)
    groups = GroupIO(many=True)


class SentenceDetailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    document = serializers.CharField()
    section = serializers.CharField()
    position = serializers.IntegerField()
    start = serializers.IntegerField(help_text="Offset of the sentence in its document's text.")
    end = serializers.IntegerField()
    text = serializers.CharField()
    previous = serializers.CharField(allow_null=True)
    next = serializers.CharField(allow_null=True)
    annotations = AnnotationOutput(many=True)


class QueueNextOutput(SentenceDetailOutput):
    strategy = serializers.CharField(help_text="The queue strategy that chose this sentence.")


class SubmitInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=0)


class ImportInput(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=["brat", "spert", "jsonl", "text"])
    as_gold = serializers.BooleanField(default=True)
    split = serializers.ChoiceField(choices=Split.choices, required=False, allow_null=True, default=None)
    text_mode = serializers.ChoiceField(choices=["lines", "sections"], default="lines")


class ImportJobOutput(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = ["id", "format", "options", "status", "problems", "summary", "created_at", "finished_at"]


class ExportQuery(serializers.Serializer):
    format = serializers.ChoiceField(choices=["brat", "spert", "conll", "jsonl"])
    split = serializers.ChoiceField(choices=Split.choices, required=False, allow_null=True, default=None)
    gold_only = serializers.BooleanField(default=True)
    discontinuous = serializers.ChoiceField(choices=["cover", "skip"], default="cover")
    nested = serializers.ChoiceField(choices=["outermost", "innermost", "first"], default="outermost")


class TokenInput(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class ModelVersionOutput(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id", "number", "architecture", "encoder", "config", "status", "reason", "progress", "heartbeat_at",
            "error", "metrics", "comparison", "artifact_sha256", "trained_on_gold_count", "created_at",
            "started_at", "finished_at", "promoted_at",
        ]


class TrainingRequestInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="requested by an admin")
    config = serializers.DictField(
        required=False, default=dict, help_text="Overrides of the project's model config for this training only.")


class SuggestionOutput(serializers.Serializer):
    sentence = serializers.IntegerField()
    model_version = serializers.IntegerField(allow_null=True)
    mentions = serializers.ListField(child=serializers.DictField())
    relations = serializers.ListField(child=serializers.DictField())
    uncertainty = serializers.DictField()
    score = serializers.FloatField(allow_null=True)


class SuggestionDecisionItem(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["mention", "relation"])
    index = serializers.IntegerField(min_value=0)
    decision = serializers.ChoiceField(choices=["accepted", "rejected"])


class SuggestionDecisionInput(serializers.Serializer):
    model_version = serializers.IntegerField(min_value=1, help_text="The version's number, as suggestions/ gives it.")
    decisions = SuggestionDecisionItem(many=True, min_length=1)


class SuggestionDecisionOutput(serializers.Serializer):
    model_version = serializers.IntegerField()
    decisions = serializers.DictField(help_text='{"mention": {index: decision}, "relation": {index: decision}}')
