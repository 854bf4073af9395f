"""Translated labels for exports and dashboards (headers, sheets, formats, refusals)."""

from flask_babel import lazy_gettext as _l

# Column key -> header (CSV and XLSX headers are in the reader's language; JSON and SQLite
# keep the stable keys).
HEADERS = {
    "id": _l("ID"),
    "title": _l("Title"),
    "category": _l("Category"),
    "district": _l("District"),
    "cost": _l("Cost (tenge)"),
    "votes": _l("Votes"),
    "selected_greedy": _l("Selected (greedy)"),
    "selected_mes": _l("Selected (equal shares)"),
    "funded": _l("Funded"),
    "channel": _l("Channel"),
    "age_band": _l("Age band"),
    "sex": _l("Sex"),
    "choices": _l("Projects chosen"),
    "address": _l("Address"),
    "estimated_cost": _l("Estimated cost (tenge)"),
    "final_cost": _l("Reviewed cost (tenge)"),
    "status": _l("Status"),
    "review_reason": _l("Review reason"),
    "implementation_status": _l("Implementation"),
    "progress": _l("Progress, %"),
    "submitted_on": _l("Submitted on"),
    "article_id": _l("Article ID"),
    "article": _l("Article"),
    "paragraph": _l("Paragraph"),
    "stance": _l("Position"),
    "reject_reason": _l("Rejection reason"),
    "text": _l("Comment"),
    "proposed_wording": _l("Proposed wording"),
    "campaign_id": _l("Campaign"),
    "topic": _l("Topic"),
    "received_at": _l("Received"),
    "decision": _l("Decision"),
    "justification": _l("Justification"),
    "new_wording": _l("New wording"),
    "answered_at": _l("Answered"),
    "answered_on": _l("Answered on"),
    "position": _l("Order"),
    "number": _l("Number"),
    "chapter": _l("Chapter"),
    # The texts in the state languages, appended after the original's columns.
    "title_kk": _l("Title (Kazakh)"),
    "title_ru": _l("Title (Russian)"),
    "chapter_kk": _l("Chapter (Kazakh)"),
    "chapter_ru": _l("Chapter (Russian)"),
    "text_kk": _l("Text (Kazakh)"),
    "text_ru": _l("Text (Russian)"),
    "text_language": _l("Language of the text read"),
}
# Headers of code columns when a translated label column stands beside them (CSV, XLSX).
CODE_HEADERS = {
    "category_code": _l("Category code"),
    "district_code": _l("District code"),
    "status_code": _l("Status code"),
    "implementation_status_code": _l("Implementation code"),
    "channel_code": _l("Channel code"),
    "stance_code": _l("Position code"),
    "reject_reason_code": _l("Rejection reason code"),
    "decision_code": _l("Decision code"),
}
SHEETS = {
    "projects": _l("Tally"),
    "ballots": _l("Ballots"),
    "proposals": _l("Proposals"),
    "articles": _l("Articles"),
    "comments": _l("Comments"),
    "summary": _l("Summary table"),
    "meta": _l("About"),
}
FORMAT_LABELS = {
    "csv": _l("CSV (Excel, LibreOffice)"),
    "xlsx": _l("Excel workbook (.xlsx)"),
    "json": _l("JSON"),
    "sqlite": _l("SQLite database (Datasette)"),
    "pb": _l("pabulib .pb (ballots for research)"),
}
PART_LABELS = {
    "tally": _l("Tally: projects, votes, winners"),
    "ballots": _l("Anonymised ballots"),
    "proposals": _l("All proposals"),
    "comments": _l("All comments with decisions"),
    "summary": _l("Summary table"),
    "articles": _l("Articles"),
}
MESSAGES = {
    "not_found": _l("There is no such cycle or draft in your region."),
    "voting_open": _l("Voting is still open: counts stay hidden until it closes."),
    "format_unknown": _l("Unknown export format. Choose one of: %(allowed)s."),
    "part_unknown": _l("Unknown table. Choose one of: %(allowed)s."),
}


def message(error):
    return str(MESSAGES.get(error.code, MESSAGES["not_found"])) % error.details


def headers():
    """Column headers in the current language."""
    return {key: str(label) for key, label in (HEADERS | CODE_HEADERS).items()}


def value_labels():
    """Column key -> {code: label} in the current language, for the code columns of the
    people's formats. Districts are added by the dataset (their names depend on the region)."""
    from portal.budgeting.forms import (
        CATEGORY_LABELS,
        CHANNEL_LABELS,
        IMPLEMENTATION_LABELS,
        STATUS_LABELS,
    )
    from portal.consultations.views import labels

    consult = labels()

    def text(mapping):
        return {key: str(value) for key, value in mapping.items()}

    return {
        "category": text(CATEGORY_LABELS),
        "status": text(STATUS_LABELS) | text(consult["statuses"]),
        "implementation_status": text(IMPLEMENTATION_LABELS),
        "channel": text(CHANNEL_LABELS),
        "stance": text(consult["stances"]),
        "reject_reason": text(consult["reasons"]),
        "decision": text(consult["decisions"]),
    }


def sheet_titles():
    return {key: str(label) for key, label in SHEETS.items()}
