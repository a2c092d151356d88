"""Request-level protections: content security policy, session lifetimes, upload size.

Each is a small middleware so that it applies to every page, the admin included.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.log import log_response

from riskreg.lib.forms import size_in_words

# No inline script or style anywhere (templates hold none; the heat maps are SVG attributes).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
])  # fmt: skip


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        # Referrer-Policy and X-Content-Type-Options come from Django's SecurityMiddleware (its defaults,
        # same-origin and nosniff), on every response: tests/test_security.py checks them.
        return response


LOGIN_AT, SEEN_AT = "riskreg_login_at", "riskreg_seen_at"


@receiver(user_logged_in)
def _start_session_clock(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT] = request.session[SEEN_AT] = time.time()


class SessionLifetimeMiddleware:
    """Log a user out after SESSION_IDLE_SECONDS without a request, or SESSION_ABSOLUTE_SECONDS after login.

    The session's last-seen time is written at most once a minute, not on every request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            login_at = session.setdefault(LOGIN_AT, now)
            seen_at = session.get(SEEN_AT, now)
            if now - login_at > settings.SESSION_ABSOLUTE_SECONDS or now - seen_at > settings.SESSION_IDLE_SECONDS:
                expired = "idle" if now - seen_at > settings.SESSION_IDLE_SECONDS else "absolute"
                logout(request)
                messages.info(request, "You were logged out after inactivity." if expired == "idle" else
                              "Your session reached its maximum length: please log in again.")  # fmt: skip
                return redirect_to_login(request.get_full_path())
            if now - seen_at >= 60 or SEEN_AT not in session:
                session[SEEN_AT] = now
        return self.get_response(request)


class UploadLimitMiddleware:
    """Refuse an upload larger than its page allows from its Content-Length, before any of it is read."""

    MULTIPART_OVERHEAD = 64 * 1024  # form fields and part headers around the file

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.content_type == "multipart/form-data":
            importing = request.path_info.startswith(("/import/", "/api/imports/"))
            limit = settings.IMPORT_MAX_BYTES if importing else settings.EVIDENCE_MAX_BYTES
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit + self.MULTIPART_OVERHEAD:
                if request.path_info.startswith("/api/"):
                    response = JsonResponse({"error": f"The upload is larger than {limit / 2**20:.0f} MB "
                                                      "(IMPORT_MAX_BYTES); nothing was imported."}, status=413)
                else:
                    response = render(request, "upload_too_large.html", {"limit": size_in_words(limit)}, status=413)
                if not request.META.get("SERVER_SOFTWARE", "").startswith("WSGIServer"):
                    # The unread body is not ours to drain. (The development server's wsgiref refuses
                    # hop-by-hop headers from the application, and would answer 500 instead.)
                    response["Connection"] = "close"
                return response
        return self.get_response(request)


class MethodNotAllowedPageMiddleware:
    """A page, not a blank screen, for a form's address opened by a visit (a reload after a failed
    POST, a bookmark): Django answers 405 with an empty body. The API keeps its own answers.

    It also answers a view's PermissionDenied with permission_denied below, whose way back is checked.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.content and not request.path_info.startswith("/api/"):
            allowed = [method.strip() for method in response.get("Allow", "").split(",") if method.strip()]
            back = _same_site_referer(request)
            page = render(request, "405.html", {"allowed": allowed or ["POST"], "back": back}, status=405)
            page["Allow"] = response.get("Allow", "")
            return page
        return response

    def process_exception(self, request, exception):
        if not isinstance(exception, PermissionDenied):
            return None
        response = permission_denied(request, exception)
        # As Django's own handling of PermissionDenied logs it (to django.request), which this replaces.
        log_response("Forbidden (Permission denied): %s", request.path, response=response, request=request,
                     exception=exception)  # fmt: skip
        return response


def permission_denied(request, exception=None):
    """The 403 page, with a link back to the page the user came from only when that page is on this site.

    Django's own handler gives 403.html nothing but the request, and the raw Referer would link another
    site's address, or a javascript: one. (Fit to be handler403 too; the middleware above calls it.)
    """
    context = {"exception": str(exception or ""), "back_url": _same_site_referer(request)}
    return render(request, "403.html", context, status=403)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a page in the app's layout when a form is refused by the CSRF check, usually a
    page left open past its session, or a form sent from another site. (Django logs the reason itself.)"""
    return render(request, "403_csrf.html", {"back_url": _same_site_referer(request)}, status=403)


def _same_site_referer(request) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return referer
    return ""
