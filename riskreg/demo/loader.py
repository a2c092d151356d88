"""Load the demo data (fixtures/*.json): the reference frameworks and the Claude Mythos Preview
system card, as records with full history.

Every record is created through save(), with the seed user as its history user, so the audit
trail of a fresh demo is complete. Records are found by natural key first: running it twice
creates nothing the second time, and a record someone has edited since is left as it is.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from riskreg.accounts import signer_keys
from riskreg.accounts.roles import APPROVER, AUDITOR, COMPLIANCE, EVALUATOR, VIEWER
from riskreg.decisions import lifecycle
from riskreg.decisions.models import (
    DecisionStatus,
    Determination,
    GapAcknowledgement,
    ReleaseDecision,
    ReviewCondition,
    SignOffVerdict,
)
from riskreg.evaluations.models import AIModel, Evaluation, Evidence, EvidenceKind, Snapshot
from riskreg.frameworks.models import Coverage, Framework, FrameworkVersion, GovernanceTitle, ThreatCategory, Threshold
from riskreg.risks.models import Risk

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
SEED_USERNAME = "riskreg-seed"
CHANGE_REASON = "seed_demo: demo data from the Claude Mythos Preview system card"
SYSTEM_CARD_URL = "https://www.anthropic.com/claude-mythos-preview-system-card"
RSO, CEO = "Responsible Scaling Officer", "CEO"
ILLUSTRATION = "illustration"

# Demo logins, created only when DEBUG is on. The password is printed by the command.
DEMO_PASSWORD = "riskreg-demo"
DEMO_ACCOUNTS = [
    # username, group, governance titles held, superuser
    ("viewer", VIEWER, [], False),
    ("evaluator", EVALUATOR, [], False),
    ("approver", APPROVER, [RSO], False),
    ("approver2", APPROVER, [CEO], False),
    ("auditor", AUDITOR, [], False),
    ("compliance", COMPLIANCE, [], False),
    ("admin", None, [], True),
]
# Placeholder signers for the one decision the demo signs in riskreg (ILLUS-1), an illustration of the
# sign-off flow that is not in the card. The card names no approver for any decision, so every decision
# it reports is recorded from it with no sign-offs. They cannot log in.
ILLUSTRATION_SIGNERS = [("illustration-rso", RSO), ("illustration-ceo", CEO)]


@dataclass
class SeedReport:
    created: Counter = field(default_factory=Counter)
    kept: int = 0
    accounts: list[tuple[str, str]] = field(default_factory=list)
    checkpoint: object = None  # the signed checkpoint the demo's trail ends with

    @property
    def total_created(self) -> int:
        return sum(self.created.values())


def _date(value):
    return date.fromisoformat(value) if value else None


class DemoSeeder:
    def __init__(self):
        self.report = SeedReport()
        self.user = self._service_user(SEED_USERNAME, "Demo data loader")

    # -- helpers -----------------------------------------------------------------------------

    def _service_user(self, username: str, first_name: str):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=first_name, is_active=False)
            user.set_unusable_password()
            # By the loader; its own account is written by no one but the command.
            # simple_history reads these two from the instance saved (Django's User declares neither).
            user._history_user = getattr(self, "user", None)  # type: ignore[attr-defined]
            user._change_reason = CHANGE_REASON  # type: ignore[attr-defined]
            with transaction.atomic():
                user.save()
        return user

    def _save(self, obj):
        """Validate and save one record with the seed user and reason on its history row."""
        obj._history_user = self.user
        obj._change_reason = CHANGE_REASON
        adding = obj._state.adding
        # Field and cross-field rules here; uniqueness and CHECK constraints are the database's.
        obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()
        if adding:
            self.report.created[type(obj).__name__] += 1
        return obj

    def _ensure(self, model, lookup: dict, values: dict):
        """Return (record, created): the record found by `lookup`, or a new one."""
        existing = model.objects.filter(**lookup).first()
        if existing is not None:
            self.report.kept += 1
            return existing, False
        return self._save(model(**lookup, **values)), True

    def _set_m2m(self, obj, name: str, targets):
        obj._history_user = self.user
        obj._change_reason = CHANGE_REASON
        getattr(obj, name).set(targets)

    @staticmethod
    def _sourced(entry: dict, section_key: str = "section") -> dict:
        return {
            "source_section": entry.get(section_key, entry.get("source_section", "")),
            "source_mark": entry.get("source_mark", "verified"),
            "source_note": entry.get("source_note", ""),
        }

    @classmethod
    def _determination_source(cls, decision: dict, spec: dict) -> dict:
        """A determination's source: the card's, as the spec says; in an illustration (ILLUS-1, the GA draft),
        the card's determination copied into a decision the card does not hold, which is an illustration too."""
        sourced = cls._sourced(spec)
        if decision.get("source_mark") != ILLUSTRATION:
            return sourced
        where = f" (§{sourced['source_section']})" if sourced["source_section"] else ""
        return {**sourced, "source_mark": ILLUSTRATION,
                "source_note": f"Part of an illustration: the card's determination{where} copied into a decision "
                               "the card does not hold."}  # fmt: skip

    @staticmethod
    def _evidence(entry: dict) -> dict:
        """The evidence behind a demo evaluation: the system card at its section, unless the entry names
        the document it really comes from ("source": title, and url and note if known). A secondary item
        (E52, from the alignment risk update) must not be titled or linked as the card."""
        source = entry.get("source")
        if source is None and entry.get("source_mark") == "secondary":
            raise RuntimeError(f"Demo evaluation {entry['key']} is secondary: name its real source, not the card.")
        if source is None:
            return {"kind": EvidenceKind.LINK, "title": f"System card §{entry['section']}", "url": SYSTEM_CARD_URL}
        if not source.get("url") and not source.get("note"):
            raise RuntimeError(f"Demo evaluation {entry['key']}: a source without an address needs a note.")
        return {
            "kind": EvidenceKind.LINK if source.get("url") else EvidenceKind.NOTE,
            "title": source["title"],
            "url": source.get("url", ""),
            "note": source.get("note", ""),
        }

    # -- the data ----------------------------------------------------------------------------

    @transaction.atomic
    def run(self, with_accounts: bool) -> SeedReport:
        frameworks = json.loads((FIXTURES / "frameworks.json").read_text())
        mythos = json.loads((FIXTURES / "mythos.json").read_text())
        self.categories: dict[str, Any] = {}
        self.titles: dict[str, Any] = {}
        self.thresholds: dict[str, Any] = {}
        self._frameworks(frameworks)
        self._signers()
        self._mythos(mythos)
        self._filings(frameworks, mythos)
        if with_accounts:
            self._accounts()
        self._checkpoint()
        return self.report

    def _checkpoint(self):
        """The demo's trail ends with a signed checkpoint, by a demo key made now when no key is set up
        (its file says it is a demo key, its checkpoints are marked so)."""
        from riskreg.audit import merkle, signing

        path = signing.key_path()
        if path is None:
            return
        if not path.exists():
            try:
                signing.write(signing.generate(f"{merkle.origin()}/demo-key", demo=True), path)
            except FileExistsError:
                pass  # made meanwhile by another run: use it
        self.report.checkpoint, _made = merkle.make_checkpoint()

    def _frameworks(self, data):
        for entry in data["categories"]:
            category, _ = self._ensure(
                ThreatCategory,
                {"slug": entry["slug"]},
                {"name": entry["name"], "description": entry["description"], "order": entry["order"]},
            )
            self.categories[category.slug] = category
        for entry in data["titles"]:
            title, _ = self._ensure(GovernanceTitle, {"name": entry["name"]}, {"description": entry["description"]})
            self.titles[title.name] = title
        for entry in data["frameworks"]:
            framework, _ = self._ensure(
                Framework,
                {"slug": entry["slug"]},
                {"name": entry["name"], "developer": entry["developer"], "description": entry["description"]},
            )
            for version_entry in entry["versions"]:
                self._framework_version(framework, version_entry)

    def _framework_version(self, framework, entry):
        version, created = self._ensure(
            FrameworkVersion,
            {"framework": framework, "version": entry["version"]},
            {
                "effective_date": _date(entry.get("effective_date")),
                "summary": entry["summary"],
                **self._sourced(entry, "source_section"),
            },
        )
        if created:
            self._set_m2m(version, "required_titles", [self.titles[name] for name in entry["required_titles"]])
        for slug, (level, note, *mark) in entry["coverage"].items():
            # [level, note] or [level, note, mark, why]: a row resting on a secondary source says so.
            source_mark, source_note = mark or (version.source_mark, "")
            self._ensure(
                Coverage,
                {"framework_version": version, "category": self.categories[slug]},
                {"level": level, "note": note, "source_section": version.source_section,
                 "source_mark": source_mark, "source_note": source_note},
            )  # fmt: skip
        for threshold_entry in entry["thresholds"]:
            threshold, _ = self._ensure(
                Threshold,
                {"framework_version": version, "code": threshold_entry["code"]},
                {
                    "category": self.categories[threshold_entry["category"]],
                    "name": threshold_entry["name"],
                    "definition": threshold_entry["definition"],
                    "operationalisation": threshold_entry.get("operationalisation", ""),
                    **self._response(threshold_entry["response"]),
                    "source_section": threshold_entry.get("source_section", version.source_section),
                    "source_mark": threshold_entry.get("source_mark", version.source_mark),
                    "source_note": threshold_entry.get("source_note", ""),
                },
            )
            self.thresholds[(framework.slug, entry["version"], threshold.code)] = threshold

    def _filings(self, frameworks, mythos):
        """The crosswalk of RSP v3.0 to the GPAI Code's systemic risks, and near misses from the card."""
        from riskreg.filings.models import CodeRiskMapping, Incident

        for framework in frameworks["frameworks"]:
            for entry in framework["versions"]:
                crosswalk = {k: v for k, v in entry.get("crosswalk", {}).items() if not k.startswith("_")}
                if not crosswalk:
                    continue
                version = FrameworkVersion.objects.get(framework__slug=framework["slug"], version=entry["version"])
                for risk, (slugs, note, section) in crosswalk.items():
                    for slug in slugs:
                        self._ensure(CodeRiskMapping, {"framework_version": version, "systemic_risk": risk,
                                                       "category": self.categories[slug]},
                                     {"note": note, "source_section": section})  # fmt: skip
        model = AIModel.objects.get(slug=mythos["model"]["slug"])
        for entry in mythos.get("near_misses", []):
            # Found by its title or a title it had before a correction: an existing demo database keeps
            # its record (as every seeded record is kept) instead of gaining a second copy of it.
            titles = [entry["title"], *entry.get("former_titles", [])]
            if Incident.objects.filter(model=model, title__in=titles).exists():
                self.report.kept += 1
                continue
            incident, created = self._ensure(
                Incident, {"model": model, "title": entry["title"]},
                {"statement": entry["statement"], "kinds": ["near_miss"], "jurisdictions": [],
                 "snapshot": Snapshot.objects.get(model=model, name=entry["snapshot"]),
                 "actions_taken": entry["actions_taken"], "root_cause": entry["root_cause"],
                 "recorded_by": self.user, "source_section": entry["section"], "source_mark": "verified",
                 "source_note": entry["source_note"]},
            )  # fmt: skip
            if created:
                self._set_m2m(incident, "risks", list(Risk.objects.filter(code__in=entry["risks"])))

    @staticmethod
    def _response(entry: dict) -> dict:
        """What crossing the threshold requires, as the framework says (frameworks.md gives the source)."""
        return {
            "response": entry["text"],
            "response_deployment": entry.get("deployment", "any"),
            "response_safeguards": entry.get("safeguards", True),
            "response_report": entry.get("report", False),
            "crossed_term": entry.get("crossed_term", ""),
            "not_crossed_term": entry.get("not_crossed_term", ""),
        }

    def _signers(self):
        self.signers = {}
        self.signer_keys = {}
        for username, title_name in ILLUSTRATION_SIGNERS:
            user = self._service_user(username, f"Illustration signer ({title_name}), not a real person")
            self._hold_title(user, self.titles[title_name])
            self.signers[title_name] = user
            # A placeholder signer has no password: it signs with a key made for it here, before any decision
            # is written (a key enrolled after its decision is named by verify_audit), and in the trail; once.
            if signer_keys.current(user) is None:
                self.signer_keys[title_name] = self._placeholder_key(user)

    def _placeholder_key(self, user):
        return signer_keys.one_time_key(user, by=self.user, reason=f"{CHANGE_REASON}; placeholder signer")

    def _hold_title(self, user, title):
        if not title.holders.filter(pk=user.pk).exists():
            title._history_user = self.user
            title._change_reason = CHANGE_REASON
            title.holders.add(user)
            self.report.created["title holding"] += 1

    def _mythos(self, data):
        rsp_v3 = FrameworkVersion.objects.get(framework__slug="anthropic-rsp", version="3.0")
        threshold = {code: self.thresholds[("anthropic-rsp", "3.0", code)] for code in ("CB-1", "CB-2", "TM1", "TM2")}

        entry = data["model"]
        model, _ = self._ensure(
            AIModel,
            {"slug": entry["slug"]},
            {"name": entry["name"], "developer": entry["developer"], "description": entry["description"]},
        )
        snapshots = {}
        for entry in data["snapshots"]:
            snapshot, _ = self._ensure(
                Snapshot,
                {"model": model, "name": entry["name"]},
                {
                    "kind": entry["kind"],
                    "description": entry["description"],
                    "available_from": _date(entry.get("available_from")),
                    **self._sourced(entry, "source_section"),
                },
            )
            snapshots[entry["key"]] = snapshot

        evaluations = {}
        for entry in data["evaluations"]:
            evaluation, created = self._ensure(
                Evaluation,
                {"snapshot": snapshots[entry["snapshot"]], "title": entry["title"]},
                {
                    "category": self.categories[entry["category"]],
                    "threshold": threshold[entry["threshold"]] if entry.get("threshold") else None,
                    "kind": entry["kind"],
                    "run_by": entry["run_by"],
                    "is_external": entry["external"],
                    "finding": entry["finding"],
                    "score": entry.get("score"),
                    "score_unit": entry.get("unit", ""),
                    "score_note": entry.get("score_note", ""),
                    "comparisons": entry.get("comparisons", []),
                    "outcome": entry["outcome"],
                    "confidence": entry["confidence"],
                    "recorded_by": self.user,
                    **self._sourced(entry),
                },
            )
            if created:
                self._save(Evidence(evaluation=evaluation, added_by=self.user, **self._evidence(entry)))
            evaluations[entry["key"]] = evaluation

        decisions = {}
        for entry in data["decisions"]:
            decisions[entry["reference"]] = self._decision(
                entry, snapshots, evaluations, data, rsp_v3, threshold, decisions
            )

        for entry in data["risks"]:
            inherent_l, inherent_i = entry["inherent"]
            residual_l, residual_i = entry["residual"]
            risk, created = self._ensure(
                Risk,
                {"code": entry["code"]},
                {
                    "title": entry["title"],
                    "category": self.categories[entry["category"]] if entry.get("category") else None,
                    "description": entry["description"],
                    "inherent_likelihood": inherent_l,
                    "inherent_impact": inherent_i,
                    "residual_likelihood": residual_l,
                    "residual_impact": residual_i,
                    "treatment": entry["treatment"],
                    "mitigations": entry["mitigations"],
                    "owner": entry["owner"],
                    "status": entry["status"],
                    "confidence": entry["confidence"],
                    "source_section": entry["section"],
                    "source_mark": entry.get("source_mark", "verified"),
                    "source_note": " ".join(filter(None, [entry.get("source_note"), data["risk_scores_note"]])),
                },
            )
            if created:
                self._set_m2m(risk, "evaluations", [evaluations[key] for key in entry["evaluations"]])

    def _decision(self, entry, snapshots, evaluations, data, framework_version, threshold, decisions):
        snapshot = snapshots[entry["snapshot"]]
        existing = ReleaseDecision.objects.filter(snapshot=snapshot, reference=entry["reference"]).first()
        if existing is not None:
            self.report.kept += 1
            return existing

        # Built as a draft, so its determinations can be added, then moved to its final status
        # through save(): the history shows the same steps a decision takes in the app.
        decision = self._save(
            ReleaseDecision(
                snapshot=snapshot,
                framework_version=framework_version,
                reference=entry["reference"],
                title=entry["title"],
                scope=entry["scope"],
                scope_details=entry.get("scope_details", ""),
                conditions=entry.get("conditions", ""),
                rationale=entry["rationale"],
                basis=entry.get("basis", ""),
                decided_by=entry.get("decided_by", ""),
                effective_date=_date(entry.get("effective_date")),
                supersedes=decisions.get(entry.get("supersedes")),
                status=DecisionStatus.DRAFT,
                author=self.user,
                **self._sourced(entry),
            )
        )
        for slug in entry.get("determinations", []):
            spec = data["determinations"][slug]
            determination = self._save(
                Determination(
                    decision=decision,
                    category=self.categories[slug],
                    threshold=threshold[spec["threshold"]] if spec.get("threshold") else None,
                    verdict=spec["verdict"],
                    confidence=spec["confidence"],
                    residual_risk=spec.get("residual_risk", ""),
                    reasoning=spec.get("reasoning", ""),
                    safeguards=spec.get("safeguards", ""),
                    **self._determination_source(entry, spec),
                )
            )
            self._set_m2m(determination, "cited_evaluations", [evaluations[key] for key in spec["cites"]])
        for condition in entry.get("review_conditions", []):
            self._save(ReviewCondition(decision=decision, text=condition["text"], rule=condition["rule"]))
        if entry.get("gap_acknowledged"):
            self._save(
                GapAcknowledgement(
                    decision=decision,
                    category=self.categories["cyber"],
                    rationale=data["gap_rationale"],
                    acknowledged_by=self.user,
                )
            )

        if entry.get("recorded"):
            # Decisions the card reports, recorded as it reports them: no sign-offs (the card names no
            # approver), and the gate and every page say so. Recording one that supersedes an earlier
            # one marks the earlier superseded.
            lifecycle.record_from_source(
                decision, by=self.user, reason=f"{CHANGE_REASON}; recorded as the card reports it"
            )
        elif entry.get("signed_in_riskreg"):
            if entry.get("source_mark") != ILLUSTRATION:
                raise RuntimeError(f"Only an illustration is signed in the demo; {decision} is not marked one.")
            # Through the same doors as in the app: submitted, then signed by the holders of the titles
            # RSP v3.0 requires, none of them its author; the last sign-off approves it once the gate passes.
            lifecycle.submit(decision, by=self.user)
            for title_name in (RSO, CEO):
                signer = self.signers[title_name]
                lifecycle.sign(
                    decision,
                    by=signer,
                    title=self.titles[title_name],
                    verdict=SignOffVerdict.APPROVE,
                    comment="Illustration: a placeholder signer; the system card names no approver.",
                    key=self.signer_keys.get(title_name) or self._placeholder_key(signer),
                )
                self.report.created["SignOff"] += 1
            decision.refresh_from_db()
            if decision.status != DecisionStatus.APPROVED:
                raise RuntimeError(f"Demo decision {decision} did not pass the release gate.")
        elif entry["status"] != DecisionStatus.DRAFT:
            raise RuntimeError(f"Demo decision {decision} is neither recorded, signed, nor a draft.")
        return decision

    def _accounts(self):
        User = get_user_model()
        for username, role, titles, superuser in DEMO_ACCOUNTS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, is_staff=superuser, is_superuser=superuser,
                            email=f"{username}@riskreg.invalid")  # the demo mails go to the console
                user.set_password(DEMO_PASSWORD)
                user._history_user, user._change_reason = self.user, CHANGE_REASON
                user.save()
                self.report.created["demo account"] += 1
                if role:
                    user.groups.add(Group.objects.get(name=role))
            for title_name in titles:
                self._hold_title(user, self.titles[title_name])
            self.report.accounts.append((username, role or "admin (superuser)"))
