"""Admin for staff. Frozen rubrics are read-only here: edits go through a new version."""

from django.contrib import admin

from .models import Dimension, Event, Item, Level, Membership, Rubric, Study


class LevelInline(admin.TabularInline):
    model = Level
    extra = 0


@admin.register(Dimension)
class DimensionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "rubric", "order")
    list_filter = ("rubric",)
    inlines = [LevelInline]

    def has_change_permission(self, request, obj=None):
        return not (obj and obj.rubric.frozen) and super().has_change_permission(request, obj)


class DimensionInline(admin.TabularInline):
    model = Dimension
    extra = 0
    show_change_link = True


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "frozen", "created_at")
    inlines = [DimensionInline]
    readonly_fields = ("frozen", "previous")

    def has_change_permission(self, request, obj=None):
        return not (obj and obj.frozen) and super().has_change_permission(request, obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "rubric", "coders_per_item", "created_at")
    list_filter = ("status",)
    readonly_fields = ("status", "seed")
    inlines = [MembershipInline]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("public_code", "study", "kind", "redaction_count")
    list_filter = ("study", "kind")
    readonly_fields = ("public_code", "content", "content_sha256", "redactions")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The audit log is append-only: viewable, never editable."""

    list_display = ("at", "actor", "verb", "target", "study")
    list_filter = ("verb", "study")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
