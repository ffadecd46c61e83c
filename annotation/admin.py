from django.contrib import admin

from annotation import models


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "queue_strategy", "architecture", "created_at"]
    search_fields = ["name"]


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role"]
    list_filter = ["role", "project"]


@admin.register(models.EntityType)
class EntityTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "colour", "hotkey"]
    list_filter = ["project"]


@admin.register(models.RelationType)
class RelationTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "symmetric"]
    list_filter = ["project"]
    filter_horizontal = ["allowed_heads", "allowed_tails"]


@admin.register(models.Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "group_key", "section", "split"]
    list_filter = ["project", "split", "section"]
    search_fields = ["external_id", "group_key"]


@admin.register(models.ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "format", "status", "created_at", "finished_at"]
    list_filter = ["status", "format"]


@admin.register(models.ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["project", "number", "status", "architecture", "trained_on_gold_count", "created_at",
                    "promoted_at"]
    list_filter = ["status", "project"]
    readonly_fields = ["progress", "heartbeat_at", "metrics", "comparison", "artifact_path", "artifact_sha256",
                       "train_fingerprint", "error"]


@admin.register(models.SuggestionDecision)
class SuggestionDecisionAdmin(admin.ModelAdmin):
    list_display = ["sentence", "model_version", "user", "kind", "index", "label", "decision", "decided_at"]
    list_filter = ["decision", "kind"]
    raw_id_fields = ["sentence", "model_version", "user"]
