"""A form's results in the owner's dashboard (/admin/results/…): its charts, NPS by week, answers by source and
gift stock, and the CSV export of its submissions, read with the dashboard's session cookie; the admin API
(/admin/forms/…) keeps its bearer keys. Both routes are GETs that change nothing; without a session the browser
is sent to sign in and brought back here after."""
from __future__ import annotations

from chalice import Blueprint, Response

from .dashboard import NO_STORE, _page, _session, _to_sign_in
from .edge import handles_errors, params, services

results_pages = Blueprint(__name__)


@results_pages.route("/admin/results/{form_id}", methods=["GET"])
@handles_errors
def results_page(form_id: str) -> Response:
    from chalicelib.cases.pages import render_results
    from chalicelib.cases.session import csrf_token
    from chalicelib.routes.dashboard import _secret
    session = _session()
    if session is None:
        return _to_sign_in()
    summary = services().results.summary(form_id, params().get("lang"))
    return _page(render_results(summary, who=session.who, csrf=csrf_token(_secret(), session.nonce),
                                forms=sorted(services().forms.ids())))


@results_pages.route("/admin/results/{form_id}/csv", methods=["GET"])
@handles_errors
def results_csv(form_id: str) -> Response:
    """The same CSV as GET /admin/forms/{form}/submissions?format=csv, for the signed-in owner's browser."""
    if _session() is None:
        return _to_sign_in()
    query = params()
    export = services().exports.csv(form_id, cursor=query.get("cursor"), status=query.get("status"))
    extra: dict[str, str | list[str]] = {
        **NO_STORE, "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{form_id}.csv"'}
    if export.next_cursor:  # a cut export: the rest follows from this link, as the API's Link header says
        extra["Link"] = f'<?cursor={export.next_cursor}>; rel="next"'
    return Response(body=export.body, status_code=200, headers=extra)
