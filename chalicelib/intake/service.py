"""The submit service: parse, check, store — the whole path of one form post."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from chalicelib.core.clock import Clock, utcnow
from chalicelib.core.config import SettingError, Settings
from chalicelib.core.errors import (
    N_,
    AdmissionRefusedError,
    ConditionFailedError,
    FieldError,
    FormUnavailableError,
    IdempotencyMismatchError,
    InvalidSubmissionError,
    KeyReusedError,
    OriginNotAllowedError,
    StorageUnavailableError,
    StoreUnavailableError,
)
from chalicelib.core.ids import new_id
from chalicelib.core.keys import client_hash
from chalicelib.core.submission import IdempotencyClaim, StoreResult, Submission
from chalicelib.forms.answers import CAPTCHA_TOKEN_FIELDS, ControlFields, coerce, split_control, validate
from chalicelib.forms.definitions import FormDefinition, FormRegistry
from chalicelib.forms.formats import is_email
from chalicelib.i18n.negotiation import negotiate
from chalicelib.intake.parsing import Limits, parse_body
from chalicelib.intake.ports import SubmissionStorage
from chalicelib.intake.source import source_of
from chalicelib.intake.spam import RateLimiter, page_token, posted_too_fast
from chalicelib.intake.surveys import SurveyGuard

if TYPE_CHECKING:
    from chalicelib.intake.admission import Admission
    from chalicelib.intake.captcha import CaptchaGuard

log = logging.getLogger("formloop.intake")
MAX_BACK_CHARS = 2000  # a Referer longer than this is no page worth linking back to


@dataclass(frozen=True)
class SubmitRequest:
    """One POST to /f/{form}, as the edge hands it over (header names lower-case)."""

    form_id: str
    body: bytes
    headers: Mapping[str, str]
    source_ip: str | None = None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def origin(self) -> str | None:
        return self.headers.get("origin")


@dataclass(frozen=True)
class SubmitOutcome:
    """What happened to a post: where a browser goes next, what a script is told."""

    form: FormDefinition
    submission_id: str
    status: str
    created: bool
    redirect_to: str
    language: str
    json_body: bool  # the answers came as JSON (the edge answers such a client in JSON)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The 201 body for JSON clients; a spam hit looks like any other success."""
        # Held (its CAPTCHA could not be checked) is said openly; spam is not.
        return {"id": self.submission_id, "form": self.form.id,
                "status": "held" if self.status == "held" else "received"}


def choose_language(definition: FormDefinition, requested: str | None, accept_language: str | None) -> str:
    """`_language`, then Accept-Language, then the form's first locale."""
    return negotiate(tuple(definition.locales), requested, accept_language)


def carry_language(url: str, definition: FormDefinition, language: str, accept_language: str | None) -> str:
    """`url` with `?lang=` when it is the form's own thanks page (a relative `{form}/thanks`) and the browser's
    Accept-Language alone would not bring it back in `language`; a `_next` or `redirect` page is the site's own,
    left as the site wrote it."""
    if language == choose_language(definition, None, accept_language):
        return url  # most posts: checked before any parsing of the address
    parts = _split(url)
    if parts is None or parts.scheme or parts.netloc or parts.path != f"{definition.id}/thanks":
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("lang", language)])))


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # e.g. "http://[oops": an unbalanced IPv6 bracket
        return None


def _is_relative(url: str) -> bool:
    """A path relative to the current page (`thanks.html`, `../done/`, `?sent=1`): no scheme, host or backslash."""
    parts = _split(url)
    return parts is not None and not parts.scheme and not parts.netloc and "\\" not in url \
        and not url.startswith("/")


def origin_of(url: str) -> str | None:
    """The lower-cased scheme://host[:port] of an http(s) URL, or None for anything else."""
    parts = _split(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class SubmissionService:
    """Receives posts for every form in the registry and stores them."""

    def __init__(self, settings: Settings, forms: FormRegistry, store: SubmissionStorage,
                 clock: Clock = utcnow, limiter: RateLimiter | None = None,
                 surveys: SurveyGuard | None = None, captcha: CaptchaGuard | None = None) -> None:
        self.settings = settings
        self._captcha = captcha  # built on the first post to a form with a CAPTCHA
        self.forms = forms
        self.store = store
        self.clock = clock
        self.limiter = limiter
        self.surveys = surveys
        self.limits = Limits(settings.max_body_bytes, settings.max_fields, settings.max_depth,
                             settings.max_field_chars)

    def form(self, form_id: str) -> FormDefinition:
        """A form's definition, or NotFoundError."""
        return self.forms.require(form_id)

    def page_token(self) -> str:
        """The signed `_ts` for a form page served now (the `spam.minSeconds` time trap)."""
        return page_token(self.settings.secret("page_secret"), self.clock())

    def origin_allowed(self, definition: FormDefinition, origin: str | None, host: str | None) -> bool:
        """Posts without Origin (servers, old browsers), from the form's own page, or from a listed site."""
        if not origin or origin == "null" and not definition.allowed_origins:
            return True
        normalised = origin.rstrip("/").lower()
        parts = _split(normalised)
        if host and parts is not None and parts.netloc == host.lower():
            return True
        if not definition.allowed_origins:
            return True
        return normalised in {o.rstrip("/").lower() for o in definition.allowed_origins}

    def check_origin(self, definition: FormDefinition, headers: Mapping[str, str]) -> None:
        """Refuse a browser post from a site the form does not list."""
        if not self.origin_allowed(definition, headers.get("origin"), headers.get("host")):
            raise OriginNotAllowedError(
                f"This form does not accept posts from {headers.get('origin')}; "
                "its owner can add the site to allowedOrigins.")

    def redirect_for(self, definition: FormDefinition, next_url: str | None, origin: str | None,
                     referer: str | None = None) -> str:
        """`_next` if it stays on an allowed site, else the form's redirect, else its thanks page (with a link
        back to the posting page when that page is on an allowed site)."""
        allowed = {o.rstrip("/").lower() for o in definition.allowed_origins}
        page = self.back_link(definition, referer)
        if next_url:
            if next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
                if origin and origin.rstrip("/").lower() in allowed:
                    return origin.rstrip("/") + next_url
                return next_url
            target = origin_of(next_url)
            if target and target in allowed:
                return next_url
            base = page or (origin.rstrip("/") + "/" if origin and origin.rstrip("/").lower() in allowed else None)
            if target is None and base and _is_relative(next_url):
                # `thanks.html` as a browser would resolve it on the posting page; checked again once joined.
                joined = urljoin(base, next_url)
                if origin_of(joined) in allowed:
                    return joined
        redirect = definition.settings.get("redirect")
        if redirect:
            return str(redirect)
        # Relative, so it resolves under any API Gateway stage prefix: /api/f/x -> /api/f/x/thanks.
        thanks = f"{definition.id}/thanks"
        return f"{thanks}?{urlencode({'back': page})}" if page else thanks

    @staticmethod
    def back_link(definition: FormDefinition, url: str | None) -> str | None:
        """`url` if it is a page on one of the form's allowed sites (a link the thanks page may show), else None."""
        if not url or len(url) > MAX_BACK_CHARS or any(ord(char) < 0x20 or char in "\x7f\\" for char in url):
            return None
        allowed = {o.rstrip("/").lower() for o in definition.allowed_origins}
        return url if origin_of(url) in allowed else None

    def submit(self, request: SubmitRequest) -> SubmitOutcome:
        """Parse, validate and store one post; raise a FormloopError for anything a client must fix."""
        definition = self.form(request.form_id)
        self.check_origin(definition, request.headers)
        if self.surveys is not None:
            self.surveys.check_open(definition, self.clock())
        parsed = parse_body(request.content_type, request.body, self.limits)
        raw, control, control_errors = split_control(parsed.values, definition)
        language = choose_language(definition, control.language, request.headers.get("accept-language"))
        answers = coerce(definition, raw, from_form=not parsed.is_json)
        # Only a post carrying a page stamp needs the page secret (in production, a parameter read on first use).
        too_fast = bool(control.page_token) and posted_too_fast(definition, control.page_token,
                                                                self.settings.secret("page_secret"), self.clock())
        status = "spam" if control.honeypot_hit or too_fast else "received"
        if status == "received":
            answers = definition.visible_answers(answers)
            errors = control_errors + validate(definition, answers)
            errors += self._reply_to_errors(control)
            if errors:
                kept = parsed.values
                if control.next_url:  # the form shown again keeps `_next`, as an absolute address when it can:
                    # posted again from Formloop's own page, a path relative to the visitor's site would miss it
                    resolved = self.redirect_for(definition, control.next_url, request.origin,
                                                 request.headers.get("referer"))
                    on_site = origin_of(resolved) in {o.rstrip("/").lower() for o in definition.allowed_origins}
                    kept = {**parsed.values, "_next": resolved if on_site else control.next_url}
                raise InvalidSubmissionError(errors, form_id=definition.id, values=kept, language=language)
        captcha_use = None
        if status == "received" and definition.settings.get("captcha"):
            status, captcha_use = self._check_captcha(definition, request, control, parsed.values, language)
        submission = self._submission(definition, request, answers, control, status, language)
        submission.source = source_of(parsed.values, request.headers)
        claim = self._claim(definition, request, control)
        # Worked out before the write: once stored, nothing may fail.
        redirect_to = self.redirect_for(definition, control.next_url, request.origin, request.headers.get("referer"))
        redirect_to = carry_language(redirect_to, definition, language, request.headers.get("accept-language"))
        # The survey's limits and the client's hourly counter go into the same write as the submission: one
        # request, and a refused post stores (and counts) nothing.
        admissions: list[Admission] = []
        if self.surveys is not None:
            admissions += self.surveys.admissions(definition, submission)
        use = self.limiter.reserve(definition, submission.ip_hash, submission.created_at) \
            if self.limiter is not None else None
        if use is not None:
            admissions.append(use)
        if captcha_use is not None:  # the token is spent in the same write that stores the post
            admissions.append(captcha_use)
        result = self._store(submission, claim, admissions)
        return SubmitOutcome(
            form=definition, submission_id=result.submission_id, status=status, created=result.created,
            redirect_to=redirect_to, language=language, json_body=parsed.is_json,
        )

    def _store(self, submission: Submission, claim: IdempotencyClaim | None,
               admissions: list[Admission]) -> StoreResult:
        """Put the submission; what the store reports becomes what the visitor is told."""
        try:
            return self.store.put(submission, claim, admissions)
        except AdmissionRefusedError as exc:
            raise exc.intent.refusal from None
        except KeyReusedError as exc:
            raise IdempotencyMismatchError(
                "This idempotency key was already used for a different submission; "
                "use a new key for new answers.") from exc
        except ConditionFailedError as exc:  # the key expired between its claim failing and its replay
            raise StorageUnavailableError("Please send your submission again.", retry_after=1) from exc
        except StoreUnavailableError as exc:
            if exc.maybe_written:
                raise StorageUnavailableError(
                    "Your submission may not have been saved; please send it again in a few seconds.") from exc
            raise StorageUnavailableError(
                "Your submission could not be saved just now and nothing was stored; "
                "please send it again in a few seconds.") from exc

    def _check_captcha(self, definition: FormDefinition, request: SubmitRequest, control: ControlFields,
                       values: dict[str, Any], language: str) -> tuple[str, Admission]:
        """Verify the post's CAPTCHA token: "received" or "held" (the provider could not answer), and the write
        that spends the token; CaptchaRefusedError (422, the form back with the answers) when it fails."""
        from chalicelib.intake.captcha import CaptchaGuard, CaptchaRefusedError, allowed_hostnames
        if self._captcha is None:
            self._captcha = CaptchaGuard(self.settings.captcha, self.limiter.store if self.limiter else None)
        field = CAPTCHA_TOKEN_FIELDS[definition.settings["captcha"]["provider"]][0]

        def refuse(reason: str) -> CaptchaRefusedError:
            return CaptchaRefusedError(reason, field, form_id=definition.id, values=values, language=language)

        replaying = bool(request.headers.get("idempotency-key") or control.idempotency_key)
        try:
            checked = self._captcha.check(
                definition, control.captcha_token, hostnames=allowed_hostnames(definition, request.headers.get("host")),
                remote_ip=request.source_ip, now=self.clock(), replaying=replaying, refuse=refuse)
        except SettingError as exc:
            log.error("form %s cannot verify its CAPTCHA: %s", definition.id, exc)
            raise FormUnavailableError("This form cannot check its human test just now, so nothing was stored; "
                                       "its owner has been told. Please try again later.") from exc
        return checked.status, checked.admission

    @staticmethod
    def _reply_to_errors(control: ControlFields) -> list[FieldError]:
        if control.reply_to is None:
            return []
        if "=?" in control.reply_to:  # an RFC 2047 encoded word: mail software would decode it into the header
            return [FieldError("_replyto", "must be a plain email address, like name@example.com "
                                           "(no encoded words such as =?utf-8?q?...?=).", (),
                               N_("must be a plain email address, like name@example.com (no encoded words)."))]
        if not is_email(control.reply_to):
            return [FieldError("_replyto", "must be an email address, like name@example.com.", (),
                               N_("must be an email address, like name@example.com."))]
        return []

    def _submission(self, definition: FormDefinition, request: SubmitRequest, answers: dict[str, Any],
                    control: ControlFields, status: str, language: str) -> Submission:
        email_field = definition.respondent_email_field
        respondent = answers.get(email_field) if email_field else None
        if not isinstance(respondent, str):
            respondent = control.reply_to if status != "spam" else None
        retention = (self.settings.spam_retention_days if status == "spam"
                     else int(definition.settings.get("retentionDays", self.settings.default_retention_days)))
        return Submission(
            form=definition.id, id=new_id(), created_at=self.clock(), status=status, answers=answers,
            feedback_kind=definition.feedback_kind(answers) if status != "spam" else None,
            language=language, origin=(request.origin or None) and request.origin[:300],
            user_agent=(request.headers.get("user-agent") or "")[:500] or None,
            ip_hash=self._ip_hash(request.source_ip), respondent_email=respondent,
            reply_to=control.reply_to, subject=control.subject, retention_days=retention,
        )

    def _ip_hash(self, ip: str | None) -> str | None:
        if not ip:
            return None
        return client_hash(self.settings.secret("ip_hash_salt"), ip)

    @staticmethod
    def _claim(definition: FormDefinition, request: SubmitRequest, control: ControlFields) -> IdempotencyClaim | None:
        key = (request.headers.get("idempotency-key") or control.idempotency_key or "").strip()
        if not key:
            return None
        hashed = hashlib.sha256(f"{definition.id}\0{key}".encode()).hexdigest()
        body_hash = hashlib.sha256((request.content_type or "").encode() + b"\0" + request.body).hexdigest()
        return IdempotencyClaim(hashed, body_hash)
