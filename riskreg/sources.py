"""Where a recorded fact comes from, and how sure its source is.

Demo data is paraphrased from a system card; some of its facts are verified in the card's
text, others come only from secondary sources or are inferences. Records that carry such
facts say so, so a reader never mistakes an inference for the developer's own statement.
"""

from django.db import models

from riskreg.lib.text import no_control_characters, single_line


class SourceMark(models.TextChoices):
    VERIFIED = "verified", "Verified in the source"
    SECONDARY = "secondary", "Secondary source only"
    UNVERIFIED = "unverified", "Not verifiable from the source"
    INFERRED = "inferred", "Inference (interpretation)"
    # Not in the source at all: an example riskreg adds to show how the tool works (e.g. a demo
    # decision signed in riskreg). Always with a note saying so.
    ILLUSTRATION = "illustration", "Illustration (not in the source)"
    # Read by riskreg from an evaluation harness's log file, which is attached as evidence: a record
    # of what the log says, not a fact checked against a published source.
    IMPORTED = "imported", "Imported log (read from the attached file)"


class Sourced(models.Model):
    source_section = models.CharField(
        "source section",
        max_length=100,
        blank=True,
        validators=[single_line],
        help_text="Section of the source document, e.g. '3.3.1' of the system card.",
    )
    source_mark = models.CharField("how sure", max_length=12, choices=SourceMark.choices, default=SourceMark.VERIFIED)
    source_note = models.TextField("source note", blank=True, validators=[no_control_characters],
                                   help_text="What is uncertain, and why.")

    class Meta:
        abstract = True


def choices_check(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    """A CHECK constraint that keeps a TextChoices column inside its choices."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": choices.values}),
        name=name,
        violation_error_message=f"{field.replace('_', ' ').capitalize()} must be one of: "
        + ", ".join(choices.values)
        + ".",
    )
