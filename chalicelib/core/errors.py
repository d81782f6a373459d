"""Domain errors: each carries the HTTP status and a message for the person who sent the request."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


def N_(message: str) -> str:
    """Mark a message for the catalogues (chalicelib/locales); it is translated where a page shows it."""
    return message


class FormloopError(Exception):
    """Root of every error Formloop reports to a client."""

    STATUS_CODE = 400
    TITLE = N_("Bad request")
    # What an error page says in a language other than English, where `message` (English) would mix languages.
    PAGE_TEXT = N_("Formloop could not use what was sent. Please go back and send the form again.")

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        return {
            "type": "about:blank",
            "title": self.TITLE,
            "status": self.STATUS_CODE,
            "detail": self.message,
        }


class MalformedRequestError(FormloopError):
    """The body cannot be read as the content type it claims."""

    STATUS_CODE = 400
    TITLE = N_("Malformed request")
    PAGE_TEXT = N_("The form arrived damaged and could not be read. Please go back and send it again.")


class AdminAuthError(FormloopError):
    """A missing or wrong admin key."""

    STATUS_CODE = 401
    TITLE = N_("Unauthorized")
    PAGE_TEXT = N_("This page needs an administrator's key.")


class OriginNotAllowedError(FormloopError):
    """A browser posted from a site the form does not list."""

    STATUS_CODE = 403
    TITLE = N_("Origin not allowed")
    PAGE_TEXT = N_("This form does not take answers from the site you sent it from. Its owner can allow that site.")


class NotFoundError(FormloopError):
    """No such form, gift or submission."""

    STATUS_CODE = 404
    TITLE = N_("Not found")
    PAGE_TEXT = N_("There is nothing at this address. Please check the link you followed.")


class MethodNotAllowedError(FormloopError):
    """The route exists but not with this method."""

    STATUS_CODE = 405
    TITLE = N_("Method not allowed")
    PAGE_TEXT = N_("This address cannot be used that way. Open the form and send it with its button.")


class ConflictError(FormloopError):
    """The request clashes with the state already stored."""

    STATUS_CODE = 409
    TITLE = N_("Conflict")
    PAGE_TEXT = N_("This was already done, so nothing changed.")


class PayloadTooLargeError(FormloopError):
    """The body, a field or the nesting exceeds a limit."""

    STATUS_CODE = 413
    TITLE = N_("Payload too large")
    PAGE_TEXT = N_("What you sent is too long. Please shorten your answers and send the form again.")


class UnsupportedMediaTypeError(FormloopError):
    """A content type (or a file part) Formloop does not accept."""

    STATUS_CODE = 415
    TITLE = N_("Unsupported media type")
    PAGE_TEXT = N_("The form sent something Formloop cannot take, such as a file. Please send text answers only.")


@dataclass(frozen=True)
class FieldError:
    """One problem with one answer."""

    field: str
    message: str
    # Where inside the answers, when deeper than one field (e.g. ("features", 1)); `field` joins it with "/".
    path: tuple[str | int, ...] = ()
    # The catalogue's msgid the English `message` was made from, and its placeholders: pages show the message
    # in the respondent's language (chalicelib/i18n), problem documents keep the English one.
    template: str = ""
    params: tuple[tuple[str, str | int | float], ...] = ()

    @property
    def pointer(self) -> str:
        """The JSON Pointer (RFC 6901) of the field."""
        parts = self.path or ((self.field,) if self.field else ())
        return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)

    def as_dict(self) -> dict[str, str]:
        """The error as it appears in a problem document."""
        return {"pointer": self.pointer, "field": self.field, "message": self.message}


class InvalidSubmissionError(FormloopError):
    """The answers do not satisfy the form's definition."""

    STATUS_CODE = 422
    TITLE = N_("Your submission has errors")
    PAGE_TEXT = N_("Some answers need fixing. Please go back and correct them.")

    def __init__(self, errors: list[FieldError], *, form_id: str | None = None,
                 values: dict[str, Any] | None = None, language: str | None = None) -> None:
        count = len(errors)
        super().__init__(f"{count} answer{'s need' if count != 1 else ' needs'} fixing.")
        self.errors = errors
        # What the visitor posted, so a browser gets the form back with their input kept.
        self.form_id = form_id
        self.values = values or {}
        self.language = language

    def problem(self) -> dict[str, Any]:
        doc = super().problem()
        doc["errors"] = [error.as_dict() for error in self.errors]
        return doc


class IdempotencyMismatchError(FormloopError):
    """An idempotency key was reused with a different body."""

    STATUS_CODE = 422
    TITLE = N_("Idempotency key reused")
    PAGE_TEXT = N_("This form was already sent with other answers. Please reload the form to send new ones.")


class FormClosedError(FormloopError):
    """The survey is closed, not open yet, or full."""

    STATUS_CODE = 403
    TITLE = N_("Form closed")
    PAGE_TEXT = N_("This form is not taking answers at the moment.")


class RateLimitedError(FormloopError):
    """Too many requests from one client."""

    STATUS_CODE = 429
    TITLE = N_("Too many requests")
    PAGE_TEXT = N_("Too many forms were sent from your connection. Please wait a while and try again.")

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class StorageUnavailableError(FormloopError):
    """DynamoDB did not accept the write after retries; nothing was stored, try again."""

    STATUS_CODE = 503
    TITLE = N_("Service unavailable")
    PAGE_TEXT = N_("Your answers could not be saved just now. Please send them again in a few seconds.")

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class FormUnavailableError(FormloopError):
    """The form's definition is broken; the owner must fix it (CI checks prevent this)."""

    STATUS_CODE = 503
    TITLE = N_("Form unavailable")
    PAGE_TEXT = N_("This form is temporarily unavailable; its owner has been told.")


class GiftLinkError(FormloopError):
    """A gift link whose token does not match: mistyped, cut short, or not this gift's."""

    STATUS_CODE = 403
    TITLE = N_("This gift link is not valid")
    PAGE_TEXT = N_("This gift link is not valid. Please open the link from your email again, in full.")


class GiftGoneError(FormloopError):
    """The gift expired or was revoked; its code can no longer be used."""

    STATUS_CODE = 410
    TITLE = N_("Gift no longer available")
    PAGE_TEXT = N_("This gift expired or was withdrawn, so its code can no longer be used.")


class AlreadyRedeemedError(ConflictError):
    """The code was redeemed before; the message and problem document say when."""

    TITLE = N_("Already redeemed")
    PAGE_TEXT = N_("This code was already used.")

    def __init__(self, message: str, *, redeemed_at: str) -> None:
        super().__init__(message)
        self.redeemed_at = redeemed_at

    def problem(self) -> dict[str, Any]:
        doc = super().problem()
        doc["redeemedAt"] = self.redeemed_at
        return doc


class CodesRejectedError(FormloopError):
    """A file of gift codes that cannot be loaded (duplicates, unreadable rows); nothing was stored."""

    STATUS_CODE = 422
    TITLE = N_("Codes not loaded")
    PAGE_TEXT = N_("The codes were not loaded; nothing was stored.")


class DefinitionError(Exception):
    """A form definition in forms/ is broken; names the file and the JSON path."""

    def __init__(self, source: str, json_path: str, message: str) -> None:
        super().__init__(f"{source}: at {json_path}: {message}")
        self.source = source
        self.json_path = json_path
        self.message = message


# --- what stores report -----------------------------------------------------------------------------------------
# A store (DynamoDB, or the in-memory one of the unit tests) speaks of data, never of HTTP: these carry no status
# and no text for a visitor. The service that called the store turns them into a FormloopError for the person.

class StoreError(Exception):
    """Root of the errors a store raises."""


class StoreUnavailableError(StoreError):
    """The database did not take the request after retries; `maybe_written` when it may have been applied anyway
    (a timeout or a dropped connection), so the caller can promise nothing."""

    def __init__(self, message: str, *, maybe_written: bool = False) -> None:
        super().__init__(message)
        self.maybe_written = maybe_written


class ConditionFailedError(StoreError):
    """A conditional write found the item changed (or gone) meanwhile; nothing was written."""


class RefusableIntent(Protocol):
    """A conditional change a store was asked to write, with the error its refusal means to a visitor."""

    @property
    def refusal(self) -> FormloopError: ...


class AdmissionRefusedError(StoreError):
    """The condition of one admission (a rate limit, a survey's places, an address marker) did not hold, so nothing
    of the write was stored; `intent` is the admission refused."""

    def __init__(self, intent: RefusableIntent) -> None:
        super().__init__(f"admission refused: {intent!r}")
        self.intent = intent


class KeyReusedError(StoreError):
    """An idempotency key already stored a submission from a different body; nothing was written."""
