"""Small builders for test records. Each saves through the model, so history is written."""

import itertools

from django.contrib.auth import get_user_model

from riskreg.decisions import lifecycle
from riskreg.decisions.models import DecisionStatus, Determination, ReleaseDecision
from riskreg.evaluations.models import AIModel, Evaluation, Snapshot
from riskreg.frameworks.models import Framework, FrameworkVersion, GovernanceTitle, ThreatCategory, Threshold

_n = itertools.count(1)


def user(username=None, **extra):
    return get_user_model().objects.create_user(username=username or f"user{next(_n)}", password="pw", **extra)


def category(slug=None):
    n = next(_n)
    return ThreatCategory.objects.create(
        slug=slug or f"cat-{n}", name=f"{slug.title()} {n}" if slug else f"Category {n}"
    )


def framework_version(version="1.0"):
    n = next(_n)
    framework = Framework.objects.create(slug=f"fw-{n}", name=f"Framework {n}", developer="Lab")
    return FrameworkVersion.objects.create(framework=framework, version=version)


def threshold(version=None, cat=None, code=None):
    return Threshold.objects.create(
        framework_version=version or framework_version(),
        category=cat or category(),
        code=code or f"T-{next(_n)}",
        name="A threshold",
        definition="What it means.",
    )


def snapshot(known_as: str = ""):
    n = next(_n)
    model = AIModel.objects.create(slug=f"model-{n}", name=f"Model {n}", developer="Lab")
    return Snapshot.objects.create(model=model, name="final", kind="final", model_identifiers=known_as)


def evaluation(snap=None, cat=None, by=None, **fields):
    values = {
        "title": f"Evaluation {next(_n)}",
        "kind": "automated_benchmark",
        "run_by": "Lab",
        "finding": "Something.",
        "source_section": "1.1",
    }
    values.update(fields)
    return Evaluation.objects.create(
        snapshot=snap or snapshot(), category=cat or category(), recorded_by=by or user(), **values
    )


def decision(snap=None, version=None, author=None, status=DecisionStatus.DRAFT, **fields):
    """A draft, moved to `status` through the lifecycle steps (the only way a status moves)."""
    values = {"title": f"Decision {next(_n)}", "scope": "limited_access", "rationale": "Because."}
    values.update(fields)
    made = ReleaseDecision.objects.create(
        snapshot=snap or snapshot(),
        framework_version=version or framework_version(),
        author=author or user(),
        **values,
    )
    if status == DecisionStatus.IN_REVIEW:
        lifecycle.submit(made, by=made.author)
    elif status == DecisionStatus.APPROVED:
        approve(made)
    elif status != DecisionStatus.DRAFT:
        raise ValueError(f"make.decision: move it to {status} through lifecycle in the test")
    return made


def approve(dec):
    """Submit `dec` and have a fresh holder of each required title sign it (adding a title if none)."""
    version = dec.framework_version
    titles = list(version.required_titles.all())
    if not titles:
        titles = [GovernanceTitle.objects.create(name=f"Title {next(_n)}")]
        version.required_titles.add(*titles)
    if dec.status == DecisionStatus.DRAFT:
        lifecycle.submit(dec, by=dec.author)
    for title in titles:
        signer = user()
        title.holders.add(signer)
        lifecycle.sign(dec, by=signer, title=title, verdict="approve")
    dec.refresh_from_db()
    assert dec.status == DecisionStatus.APPROVED, dec.status
    return dec


def determination(dec, cat=None, **fields):
    values = {"verdict": "not_crossed"}
    values.update(fields)
    return Determination.objects.create(decision=dec, category=cat or category(), **values)


PASSWORDS = ("pw", "pw-for-tests")  # make.user's, and conftest's role fixtures


def post_confirmed(client, url, data=None, password=None, **kwargs):
    """POST a consequential step as a person does: the first POST shows the confirmation page, whose
    button posts the same fields again with its signed token — and, where it asks (signing), the
    person's password: `password`, or the test users' own."""
    first = client.post(url, data or {})
    assert first.status_code == 200 and "confirm_token" in first.context, first.content.decode()[:2000]
    confirmed = {**first.context["fields"], "confirm": first.context["confirm_token"]}
    if first.context.get("password"):
        user = first.wsgi_request.user
        confirmed["password"] = password or next((p for p in PASSWORDS if user.check_password(p)), "")
    return client.post(url, confirmed, **kwargs)


def signing(decision, title, verdict="approve", comment=""):
    """The sign form's fields as the decision page fills them: the digest is that of the content as it is now."""
    from riskreg.decisions.gate import gate

    return {"title": title.pk, "verdict": verdict, "comment": comment, "digest": gate(decision).digest}
