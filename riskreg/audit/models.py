"""The audit trail: one append-only, hash-chained event per history record of any tracked model.

Each event stores what changed, field by field, and the SHA-256 of the history row it stands for;
its `hash` is SHA-256(prev_hash ‖ canonical JSON of the event). Editing, removing, inserting or
reordering any event breaks the chain, which `verify.py` checks offline and `verify_audit` checks
in the database.
"""

from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class Action(models.TextChoices):
    CREATED = "+", "Created"
    CHANGED = "~", "Changed"
    DELETED = "-", "Deleted"


class AuditEventQuerySet(models.QuerySet):
    def for_record(self, obj):
        """The events of one record, newest first: its history with field-level changes."""
        return self.filter(model=obj._meta.label, object_id=str(obj.pk)).order_by("-seq")


class AuditEvent(models.Model):
    seq = models.PositiveBigIntegerField("sequence", primary_key=True)
    at = models.DateTimeField(db_index=True)  # filter by time range
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=1, choices=Action.choices)
    model = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    history_id = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict)
    record_sha256 = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        permissions = [("export_auditevent", "Can export and verify the audit trail")]
        indexes = [
            # The record page's history, and the audit page filtered by model and object.
            models.Index(fields=["model", "object_id", "seq"], name="audit_model_object_seq"),
            # The audit page filtered by user, newest first.
            models.Index(fields=["user", "seq"], name="audit_user_seq"),
            # verify_audit: each model's events in history-row order, merged with the history table.
            models.Index(fields=["model", "history_id"], name="audit_model_history"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_action_display()} {self.model} {self.object_id}"

    def as_document(self) -> dict:
        """The event's content as it is hashed and exported (without prev_hash and hash)."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "user_id": self.user_id,
            "username": self.username,
            "action": self.action,
            "model": self.model,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "history_id": self.history_id,
            "reason": self.reason,
            "changes": self.changes,
            "record_sha256": self.record_sha256,
        }


class AuditHead(models.Model):
    """The chain's head: one row, locked while an event is appended, so the chain has one order."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


class AuditTreeNode(models.Model):
    """One node of the Merkle tree over the trail (RFC 6962): a leaf, or the root of a perfect subtree.

    `key` is (height << 56) | position: leaf i is (0, i); the node over leaves [p·2^h, (p+1)·2^h) is
    (h, p). Written once, in order, by merkle; append-only like the events (triggers.py). A cache, not an
    authority: the app's role may insert rows, so every root signed and proof served is checked (merkle.py).
    """

    HEIGHT_SHIFT = 56

    key = models.BigIntegerField(primary_key=True)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"node {self.key >> self.HEIGHT_SHIFT}/{self.key & ((1 << self.HEIGHT_SHIFT) - 1)}"


class AuditCheckpoint(models.Model):
    """A signed checkpoint of the tree: a C2SP tlog-checkpoint signed as a C2SP signed-note (Ed25519).

    Append-only. `note` is exactly what /audit/checkpoint serves and a witness keeps. The app's role may
    insert rows here too: a row counts only once its note verifies against a configured verifier key
    (merkle.trusted); `verifier_key` records which key signed it, and is never used to check it."""

    tree_size = models.PositiveBigIntegerField()
    root_hash = models.CharField(max_length=64)
    origin = models.CharField(max_length=200)
    key_name = models.CharField(max_length=200)
    verifier_key = models.CharField(max_length=300)
    demo_key = models.BooleanField(default=False, help_text="Signed with the demo key seed_demo made.")
    note = models.TextField()
    made_at = models.DateTimeField(auto_now_add=True)

    # Not stored: set on a row merkle.trusted() has verified against a configured key (its signed tree
    # size and root), and by make_checkpoint() (what it found wrong in the stored tree).
    signed: tuple[int, bytes]
    problems: list[str]

    class Meta:
        ordering = ["-id"]
        get_latest_by = "id"

    def __str__(self) -> str:
        return f"checkpoint {self.pk}: {self.tree_size} events"
