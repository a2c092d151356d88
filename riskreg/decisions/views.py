import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.utils.text import slugify
from django.views.generic import CreateView, DetailView, UpdateView, View
from django_filters.views import FilterView

from riskreg.accounts import signer_keys
from riskreg.accounts.access import RoleRequiredMixin
from riskreg.accounts.models import LoginFailure
from riskreg.audit.models import AuditEvent
from riskreg.evaluations.models import Evaluation
from riskreg.filings import crosswalk
from riskreg.filings.model_report import REPORTABLE
from riskreg.frameworks.models import ThreatCategory
from riskreg.lib import confirmation
from riskreg.lib.concurrency import VersionedUpdateMixin
from riskreg.lib.exports import CsvExportMixin
from riskreg.lib.lists import ListPageMixin
from riskreg.mywork import SESSION_COUNT

from . import lifecycle, record
from .digest import conditions_in_words, load
from .exports import ReleaseDecisionCsv
from .filters import ReleaseDecisionFilter
from .forms import (
    DeterminationForm,
    GapAcknowledgementForm,
    ReaffirmForm,
    ReleaseDecisionForm,
    ReviewConditionForm,
    SignOffForm,
)
from .gate import annotate_review_states, authors_of, gate
from .models import (
    DecisionError,
    Determination,
    GapAcknowledgement,
    ReleaseDecision,
    ReviewCondition,
    SignOff,
)
from .tables import ReleaseDecisionTable

logger = logging.getLogger(__name__)

DECISIONS = ReleaseDecision.objects.select_related("snapshot__model", "framework_version__framework", "author")


def get_draft(pk) -> ReleaseDecision:
    """The decision, if it is still a draft: approved, in-review and rejected ones are not edited."""
    decision = get_object_or_404(DECISIONS, pk=pk)
    if not decision.is_draft:
        raise PermissionDenied(f"This decision is {decision.get_status_display().lower()}; only a draft can be edited.")
    return decision


class ReleaseDecisionListView(RoleRequiredMixin, CsvExportMixin, ListPageMixin, FilterView):
    permission_required = "decisions.view_releasedecision"
    model = ReleaseDecision
    table_class = ReleaseDecisionTable
    filterset_class = ReleaseDecisionFilter
    template_name = "decisions/releasedecision_list.html"
    row_template = "decisions/_rows.html"
    csv_export = ReleaseDecisionCsv

    def get_queryset(self):
        return ReleaseDecision.objects.all()

    def rows_queryset(self, queryset):
        # Instances, not values: a row's status says "changed since signing", which the gate works out
        # from the decision's signed content.
        return queryset.select_related("snapshot__model", "framework_version__framework")

    def decorate_rows(self, rows):
        annotate_review_states(rows)  # for the rows shown, in a fixed number of queries


class ReleaseDecisionDetailView(RoleRequiredMixin, DetailView):
    permission_required = "decisions.view_releasedecision"
    template_name = "decisions/releasedecision_detail.html"

    def get_queryset(self):
        cited = Prefetch("cited_evaluations", queryset=Evaluation.objects.select_related("threshold")
                         .order_by("source_section"))
        return DECISIONS.select_related("supersedes").prefetch_related(
            Prefetch(
                "determinations",
                queryset=Determination.objects.select_related("category", "threshold").prefetch_related(cited),
            ),
            Prefetch(
                "gap_acknowledgements",
                queryset=GapAcknowledgement.objects.select_related("category", "acknowledged_by"),
            ),
            Prefetch("sign_offs", queryset=SignOff.objects.select_related("signer", "title", "signer_key")),
            "framework_version__required_titles",
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        decision = self.object
        report = gate(decision)
        sign_offs = list(decision.sign_offs.all())
        current_titles = {s.title_id for s in sign_offs if report.is_current(s)}
        for sign_off in sign_offs:
            sign_off.is_stale = not report.is_current(sign_off)
            sign_off.is_replaced = sign_off.is_stale and sign_off.title_id in current_titles
        user = self.request.user
        context.update(
            report=report,
            sign_offs=sign_offs,
            events=AuditEvent.objects.for_record(decision),
            authors=report.authors,
            can_edit=decision.is_draft and user.has_perm("decisions.change_releasedecision"),
            can_sign=decision.status == "in_review" and user.has_perm("decisions.sign_releasedecision"),
            can_reaffirm=report.material_change is not None
            and not decision.is_recorded
            and user.has_perm("decisions.sign_releasedecision"),
            can_withdraw=decision.status == "in_review" and user.has_perm("decisions.change_releasedecision"),
            superseders=(superseders := list(decision.superseders.order_by("id"))),
            can_supersede=decision.status == "approved" and user.has_perm("decisions.add_releasedecision")
            and not any(later.status == "in_review" for later in superseders),
            revisions=(revisions := list(decision.revisions.order_by("id"))),
            can_revise=decision.status == "rejected" and user.has_perm("decisions.add_releasedecision")
            and all(revision.status == "rejected" for revision in revisions),
        )
        loaded = load(decision.pk)
        context.update(compliance=crosswalk.for_decision(loaded), model_report_ready=decision.status in REPORTABLE,
                       conditions=conditions_in_words(loaded),
                       filings=decision.filings.select_related("issued_by").order_by("kind", "version"))
        if context["can_sign"] and user.pk in authors_of(decision):
            # Separation of duties: an author may not sign; the page says so instead of offering a form.
            context.update(can_sign=False, author_cannot_sign=True)
        if context["can_sign"]:
            form = kwargs.get("sign_form") or SignOffForm(decision=decision, user=user, digest=report.digest)
            signable = form.fields["title"].queryset.exists()
            signed = not signable and any(s.signer_id == user.pk and not s.is_stale for s in sign_offs)
            context.update(sign_form=form, signable=signable, signed_by_me=signed)
        if context["can_reaffirm"] and user.pk in authors_of(decision):
            # Separation of duties: an author may not re-affirm; the page says so instead of a form.
            context.update(can_reaffirm=False, author_cannot_reaffirm=True)
        if context["can_reaffirm"]:
            context["reaffirm_form"] = kwargs.get("reaffirm_form") or ReaffirmForm(decision=decision, user=user,
                                                                                  digest=report.digest)
        return context


class ReleaseDecisionCreateView(RoleRequiredMixin, SuccessMessageMixin, CreateView):
    permission_required = "decisions.add_releasedecision"
    form_class = ReleaseDecisionForm
    template_name = "decisions/releasedecision_form.html"
    success_message = "Draft decision created. Add its determinations, then submit it for review."

    def form_valid(self, form):
        form.instance.author = self.request.user
        return super().form_valid(form)


class ReleaseDecisionUpdateView(RoleRequiredMixin, VersionedUpdateMixin, SuccessMessageMixin, UpdateView):
    permission_required = "decisions.change_releasedecision"
    form_class = ReleaseDecisionForm
    template_name = "decisions/releasedecision_form.html"
    success_message = "Draft saved."

    def get_object(self, queryset=None):
        return get_draft(self.kwargs["pk"])


class DecisionPartMixin(RoleRequiredMixin):
    """Determinations and gap acknowledgements of a draft decision."""

    template_name: str | None = "decisions/part_form.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated or not self.has_permission():
            return self.handle_no_permission()
        self.decision = get_draft(kwargs["decision_pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "decision": self.decision}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "decision": self.decision, "heading": self.heading}

    def get_success_url(self):
        return self.decision.get_absolute_url()

    def form_valid(self, form):
        try:
            with transaction.atomic():
                return super().form_valid(form)
        except IntegrityError:  # a concurrent add of the same category got there first
            form.add_error("category", "This decision already has an entry for this category: edit that one.")
            return self.form_invalid(form)


class CitingPickerMixin:
    """The picker's choices come from the page's address: ?category=ID&other_snapshots=1."""

    def get_form_kwargs(self):
        value = self.request.GET.get("category", "")
        usable = value.isascii() and value.isdigit()
        category = ThreatCategory.objects.filter(pk=value).first() if usable else None
        other = self.request.GET.get("other_snapshots") == "1"
        return {**super().get_form_kwargs(), "category": category, "other_snapshots": other}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context.update(picker_categories=ThreatCategory.objects.order_by("name"),
                       chosen_category=form.chosen_category, other_snapshots=form.other_snapshots)  # fmt: skip
        return context


class DeterminationCreateView(CitingPickerMixin, DecisionPartMixin, CreateView):
    permission_required = "decisions.add_determination"
    heading = "Add a determination"
    form_class = DeterminationForm


class DeterminationUpdateView(CitingPickerMixin, DecisionPartMixin, VersionedUpdateMixin, UpdateView):
    permission_required = "decisions.change_determination"
    heading = "Edit the determination"
    form_class = DeterminationForm

    def get_object(self, queryset=None):
        return get_object_or_404(Determination, pk=self.kwargs["pk"], decision=self.decision)


class GapAcknowledgementCreateView(DecisionPartMixin, CreateView):
    permission_required = "decisions.add_gapacknowledgement"
    heading = "Acknowledge a coverage gap"
    form_class = GapAcknowledgementForm

    def form_valid(self, form):
        form.instance.acknowledged_by = self.request.user
        return super().form_valid(form)


class ReviewConditionCreateView(DecisionPartMixin, CreateView):
    permission_required = "decisions.add_reviewcondition"
    heading = "Add a condition for re-review"
    form_class = ReviewConditionForm


class ReviewConditionUpdateView(DecisionPartMixin, VersionedUpdateMixin, UpdateView):
    permission_required = "decisions.change_reviewcondition"
    heading = "Edit the condition for re-review"
    form_class = ReviewConditionForm

    def get_object(self, queryset=None):
        return get_object_or_404(ReviewCondition, pk=self.kwargs["pk"], decision=self.decision)


class DecisionActionView(RoleRequiredMixin, View):
    """A POST that moves a decision through its lifecycle via one domain method, then redirects."""

    def post(self, request, pk):
        decision = get_object_or_404(DECISIONS, pk=pk)
        request.session.pop(SESSION_COUNT, None)  # the header's count is worked out again on My work
        try:
            return self.act(decision)
        except DecisionError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(decision)


class SubmitView(DecisionActionView):
    permission_required = "decisions.change_releasedecision"

    def act(self, decision):
        version = {"version": decision.history.latest().history_id}  # an edit after the page: confirm again
        if not confirmation.confirmed(self.request, version):
            lifecycle.check_submit(decision)
            titles = ", ".join(str(t) for t in decision.framework_version.required_titles.all()) or "no title"
            return confirmation.page(
                self.request, heading=f"Confirm: submit {decision} for review",
                consequences=[
                    f"The holders of {titles} are asked to sign it.",
                    "It can no longer be edited while in review: withdraw it to a draft to change it, which makes "
                    "any sign-off given so far stale.",
                    "Everyone who wrote it or its parts is an author, and may not sign it.",
                ],
                button="Yes, submit it", back_url=decision.get_absolute_url(), back_text="No, back to the decision",
                fields=version,
            )  # fmt: skip
        lifecycle.submit(decision, by=self.request.user)
        messages.success(self.request, "Submitted for review.")
        return redirect(decision)


class WithdrawView(DecisionActionView):
    permission_required = "decisions.change_releasedecision"

    def act(self, decision):
        lifecycle.withdraw(decision, by=self.request.user)
        messages.success(self.request, "Withdrawn to a draft.")
        return redirect(decision)


PASSWORD_PROMPT = "Your password: it opens your own signing key, which signs this sign-off."


@method_decorator(transaction.non_atomic_requests, name="dispatch")  # the throttle's count commits on its own
class SigningView(DecisionActionView):
    """Sign or re-affirm: the form carries the digest of the content read; a confirmation page says what
    signing commits to and carries the same fields, bound by its token; the step checks the digest."""

    permission_required = "decisions.sign_releasedecision"
    form_class: type[Form] | None = None
    context_name = ""
    reaffirming = False

    def act(self, decision):
        user = self.request.user
        form = self.form_class(self.request.POST, decision=decision, user=user, digest=self.request.POST.get("digest"))
        if not form.is_valid():
            view = ReleaseDecisionDetailView(request=self.request, kwargs={"pk": decision.pk})
            view.object = view.get_queryset().get(pk=decision.pk)
            response = view.render_to_response(view.get_context_data(object=view.object, **{self.context_name: form}))
            response.status_code = 400
            return response
        data = form.cleaned_data
        fields = {"title": data["title"].pk, "verdict": data.get("verdict", "approve"), "comment": data["comment"],
                  "digest": data["digest"]}  # fmt: skip
        confirming = dict(fields=fields, back_url=decision.get_absolute_url(), back_text="No, back to the decision",
                          password=PASSWORD_PROMPT)  # fmt: skip
        if not confirmation.confirmed(self.request, fields):
            lifecycle.check_signer(decision, user, data["title"], data["digest"], reaffirming=self.reaffirming)
            return confirmation.page(self.request, **confirming, **self.confirming(decision, data))
        # Signing is a fresh authentication: the password typed now opens the signer's own key, which signs
        # the sign-off (accounts/signer_keys.py). Each try is counted by the log-in throttle before the
        # password is checked, committed at once (this view is not one request-long transaction), and
        # given back when the password was right.
        reservation = LoginFailure.reserve(user.get_username(), self.request.META.get("REMOTE_ADDR"))
        if reservation is None:
            minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
            error = f"Too many wrong passwords: nothing was signed. Try again in {minutes} minutes."
        else:
            try:
                key = signer_keys.unlock(user, self.request.POST.get("password", "")[:4096])
            except signer_keys.WrongPassword as wrong:
                error = str(wrong)
            else:
                reservation.delete()
                with transaction.atomic():
                    return self.take(decision, data, key)
        response = confirmation.page(self.request, **confirming, **self.confirming(decision, data), error=error)
        response.status_code = 400
        return response

    def confirming(self, decision, data) -> dict:
        raise NotImplementedError

    def take(self, decision, data, key):
        raise NotImplementedError


class SignView(SigningView):
    form_class = SignOffForm
    context_name = "sign_form"

    def confirming(self, decision, data) -> dict:
        approving = data["verdict"] == "approve"
        consequences = [
            f"You sign {decision} as {data['title']}: {'approve' if approving else 'reject'}.",
            f"What you sign is the content you read, digest {data['digest'][:16]}…; if it changed since, nothing "
            "is signed. A later change to it, or to the evidence it cites, shows as changed since signing"
            + (" and asks you to re-affirm" if approving else "") + ".",
        ]
        if approving:
            headline = gate(decision).headline.rstrip(".")
            consequences.append(f"{headline}. If yours is the last sign-off the gate asks for, the decision is "
                                "approved and never changes after that.")  # fmt: skip
        else:
            consequences.append("A rejection ends the review: the decision is rejected, and its author can "
                                "revise it into a new draft.")  # fmt: skip
        if data["comment"]:
            consequences.append(f"Your comment: “{data['comment']}”")
        return {"heading": f"Confirm: {'sign' if approving else 'reject'} {decision}", "consequences": consequences,
                "button": "Yes, sign it" if approving else "Yes, reject it"}  # fmt: skip

    def take(self, decision, data, key):
        lifecycle.sign(decision, by=self.request.user, title=data["title"], verdict=data["verdict"],
                       comment=data["comment"], expected_digest=data["digest"], key=key)  # fmt: skip
        messages.success(
            self.request, f"Signed as {data['title']}. The decision is now {decision.get_status_display().lower()}."
        )
        return redirect(decision)


class SupersedeView(DecisionActionView):
    permission_required = "decisions.add_releasedecision"

    def act(self, decision):
        draft = lifecycle.supersede(decision, by=self.request.user)
        messages.success(self.request, "A new draft supersedes the approved decision once it is approved itself.")
        return redirect("decisions:edit", pk=draft.pk)


class ReviseView(DecisionActionView):
    """A rejected decision copied into a new draft, to revise and submit again."""

    permission_required = "decisions.add_releasedecision"

    def act(self, decision):
        draft = lifecycle.revise(decision, by=self.request.user)
        messages.success(self.request, "A new draft revises the rejected decision: its determinations, citations "
                                       "and gap acknowledgements are copied. Change what the signers asked, then "
                                       "submit it.")  # fmt: skip
        return redirect("decisions:edit", pk=draft.pk)


class ReaffirmView(SigningView):
    """An approved decision whose content changed since signing: one required title re-affirms it."""

    form_class = ReaffirmForm
    context_name = "reaffirm_form"
    reaffirming = True

    def confirming(self, decision, data) -> dict:
        consequences = [
            f"You re-affirm {decision} as {data['title']}: it still holds on the changed content, digest "
            f"{data['digest'][:16]}…; if it changed again since you read it, nothing is signed.",
            "When every required title has re-affirmed, the change is settled and the gate passes again.",
        ]
        if data["comment"]:
            consequences.append(f"Your comment: “{data['comment']}”")
        return {"heading": f"Confirm: re-affirm {decision}", "consequences": consequences,
                "button": "Yes, re-affirm it"}  # fmt: skip

    def take(self, decision, data, key):
        lifecycle.reaffirm(decision, by=self.request.user, title=data["title"], comment=data["comment"],
                           expected_digest=data["digest"], key=key)  # fmt: skip
        messages.success(self.request, f"Re-affirmed as {data['title']}.")
        return redirect(decision)


class DecisionRecordView(RoleRequiredMixin, View):
    """The decision record as a printable page: the same content as the PDF."""

    permission_required = "decisions.view_releasedecision"

    def get(self, request, pk):
        get_object_or_404(ReleaseDecision, pk=pk)
        return render(request, "decisions/record.html", record.context(pk))


class DecisionRecordPdfView(RoleRequiredMixin, View):
    """The decision record as a PDF, made on the server with the app's own fonts, offline."""

    permission_required = "decisions.view_releasedecision"

    def get(self, request, pk):
        decision = get_object_or_404(ReleaseDecision, pk=pk)
        try:
            document = record.pdf(pk)
        except OSError as error:  # WeasyPrint's system libraries (Pango) missing on this machine
            logger.error("The decision record PDF could not be made: %s", error)
            return render(request, "decisions/record_unavailable.html", {"object": decision}, status=503)
        name = slugify(f"decision-{decision.reference or decision.pk}-record") + ".pdf"
        response = HttpResponse(document, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{name}"'
        return response
